/**
 * Division, remainder and shifts as the kernel computes them (docs/spec.md): signed operands
 * (which BPF before cpu v4 cannot divide, so the program divides magnitudes), a zero divisor
 * (x / 0 is 0, x % 0 is x) and a shift count known only at run time (taken modulo 64). The
 * operands are parameters, so clang cannot fold them; the program runs on this kernel.
 */
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/arithmetic.test.ts");
const out = "test/.out/arithmetic";

const spec = `name: arith
params:
  target_pid: { type: u32 }
  a: { type: i64 }
  d: { type: i32 }
  ua: { type: u64 }
  ud: { type: u64 }
  s: { type: u8 }
maps:
  results:
    type: array
    max_entries: 1
    value: { q: i64, r: i64, uq: u64, ur: u64, shl: u64, shr: i64 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    filter: pid == params.target_pid
    update:
      - map: results
        set:
          q: params.a / params.d
          r: params.a % params.d
          uq: params.ua / params.ud
          ur: params.ua % params.ud
          shl: params.ua << params.s
          shr: params.a >> params.s
`;

interface Results { q: bigint; r: bigint; uq: bigint; ur: bigint; shl: bigint; shr: bigint }
type Params = { targetPid: number; a: bigint; d: number; ua: bigint; ud: bigint; s: number };
let load: (options: { params: Params }) => Promise<Disposable & { maps: { results: { get(k: number): Results } } }>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/arith.yaml`, spec);
  const [result] = await buildSpecs([`${out}/arith.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/arith.ts`)).loadArith;
});

/** What the kernel computed for these operands, after one open by this process. */
async function run(p: Omit<Params, "targetPid">): Promise<Results> {
  using probe = await load({ params: { targetPid: process.pid, ...p } });
  closeSync(openSync("/dev/null", "r"));
  return probe.maps.results.get(0);
}

const i64 = (v: bigint) => BigInt.asIntN(64, v);

describe.skipIf(!support.ok)("arithmetic on the running kernel", () => {
  it.each([
    [7n, 2], [-7n, 2], [7n, -2], [-7n, -2], [0n, -5], [-9223372036854775808n, -1], [-9223372036854775808n, 3], [9223372036854775807n, -2147483648],
  ])("%s / %s and %s %% %s are C's: the quotient rounds toward zero, the remainder has the dividend's sign", async (a, d) => {
    const r = await run({ a, d, ua: 1n, ud: 1n, s: 0 });
    // BigInt's / and % are C's; i64 wraps the one quotient that overflows (-2^63 / -1).
    expect([r.q, r.r]).toEqual([i64(a / BigInt(d)), a % BigInt(d)]);
  });

  it("a zero divisor gives 0 for a quotient and the dividend for a remainder, signed or not", async () => {
    const r = await run({ a: -7n, d: 0, ua: 18446744073709551615n, ud: 0n, s: 0 });
    expect(r).toMatchObject({ q: 0n, r: -7n, uq: 0n, ur: 18446744073709551615n });
  });

  it("unsigned division uses all 64 bits", async () => {
    const r = await run({ a: 0n, d: 1, ua: 18446744073709551615n, ud: 10n, s: 0 });
    expect([r.uq, r.ur]).toEqual([1844674407370955161n, 5n]);
  });

  it("a shift count known only at run time is taken modulo 64; >> of a signed value keeps its sign", async () => {
    const r = await run({ a: -1024n, d: 1, ua: 3n, ud: 1n, s: 65 });
    expect([r.shl, r.shr]).toEqual([6n, -512n]);
  });
});
