/**
 * The spec fuzzer in the test suite: a fixed seed, a few hundred cases. Every case must be
 * rejected with a located diagnostic, or build, import, type-check, load and pass the oracles
 * (oracles.ts); the bundled and documented specs must build as written. The long run is
 * `npm run fuzz -- --cases N`.
 */
import { describe, expect, it } from "vitest";
import { acceptable, formatTable, runFuzz } from "./fuzz.js";
import { kindsHostLacks } from "./host.js";

const cases = Number(process.env.PROBEGEN_FUZZ_CASES ?? 300);
const seed = Number(process.env.PROBEGEN_FUZZ_SEED ?? 1);
const root = process.getuid?.() === 0;

describe("spec fuzzer", () => {
  it.skipIf(!root)(`${cases} specs (seed ${seed}) are each rejected at a located place or build and load`, async () => {
    const only = process.env.PROBEGEN_FUZZ_CASE === undefined ? undefined : Number(process.env.PROBEGEN_FUZZ_CASE);
    const results = await runFuzz({ seed, cases, only, hostLacks: kindsHostLacks() });
    console.log(formatTable(results));
    const bugs = results.filter((r) => !acceptable.has(r.outcome));
    expect(bugs.map((b) => `case ${b.index}: ${b.outcome}: ${b.detail ?? ""}`)).toEqual([]);
    // The run must reach every stage, or it proves nothing.
    expect(results.filter((r) => r.outcome === "built and loaded").length).toBeGreaterThan(cases / 20);
    expect(results.filter((r) => r.outcome === "rejected with a located diagnostic").length).toBeGreaterThan(cases / 20);
  }, 900_000);
});
