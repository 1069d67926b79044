#!/usr/bin/env node
// npm run fuzz -- [--cases N] [--seed S] [--case I]: the spec fuzzer's long run, through vitest
// (which runs the TypeScript sources); prints the outcome table and exits 1 on any bug.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { cases: { type: "string", default: "2000" }, seed: { type: "string", default: "1" }, case: { type: "string" } } });
for (const [name, v] of Object.entries({ cases: values.cases, seed: values.seed, case: values.case })) {
  if (v !== undefined && !/^\d+$/.test(v)) {
    console.error(`fuzz: --${name} must be a non-negative integer, got '${v}'`);
    process.exit(2);
  }
}
const env = { ...process.env, PROBEGEN_FUZZ_CASES: values.cases, PROBEGEN_FUZZ_SEED: values.seed };
if (values.case !== undefined) env.PROBEGEN_FUZZ_CASE = values.case;
const r = spawnSync("npx", ["vitest", "run", "test/fuzz/fuzz.test.ts", "--reporter=dot"], { stdio: "inherit", env });
process.exit(r.status ?? 1);
