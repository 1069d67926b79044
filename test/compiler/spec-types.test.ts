/** The spec's TS type is generated from the schema, and rules the schema can say live there. */
import { readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { frontEnd, located } from "../helpers/compile.js";

describe("the spec type and the schema", () => {
  it("src/compiler/spec.ts is what scripts/spec-types.mjs makes of the schema", async () => {
    const { stdout } = await execa("node", ["scripts/spec-types.mjs", "--stdout"], { stripFinalNewline: false });
    expect(readFileSync("src/compiler/spec.ts", "utf8"), "stale: run node scripts/spec-types.mjs").toBe(stdout);
  });

  it("the schema says an array map with a key needs max_entries (without one it holds one value)", () => {
    const { diagnostics } = frontEnd("name: t\nmaps:\n  counts: { type: array, key: u32, value: u64 }\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    update: [{ map: counts, count: true }]\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:3:3: 'maps.counts' needs 'max_entries'"]);
    expect(diagnostics[0]!.hint).toBe("add a 'max_entries:' entry");
  });

  it("the schema says a field object needs 'from' or 'name'", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [{ size: 16 }]\n");
    expect(diagnostics.map((d) => d.code)).toEqual(["missing-key"]);
    expect(located(diagnostics)[0]).toMatch(/^probes\/test\.yaml:4:14: 'programs\.0\.fields\.0' needs '(from|name)'$/);
  });
});
