/** Attach kinds: the registry and the schema agree, and raw tracepoints resolve with or without BTF. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { attachKinds } from "../../src/compiler/attach/index.js";
import { frontEnd, located } from "../helpers/compile.js";

const schema = JSON.parse(readFileSync("schemas/probe.schema.json", "utf8"));

describe("attach kinds", () => {
  it("the schema's attach pattern accepts every prefix of the registry, and no other", () => {
    const pattern = new RegExp(schema.$defs.attachPattern.pattern);
    const prefixes = attachKinds.flatMap((k) => k.prefixes);
    const target = (prefix: string) => (prefix === "tracepoint" ? `${prefix}/cat/name` : `${prefix}/name`);
    expect(prefixes.filter((p) => !pattern.test(target(p)))).toEqual([]);
    const inSchema = [...schema.$defs.attachPattern.pattern.matchAll(/[a-z_]{2,}/g)].map((m: RegExpMatchArray) => m[0]);
    expect(inSchema.filter((p: string) => !prefixes.includes(p))).toEqual([]);
  });

  it("raw_tp/NAME without BTF: checked against tracefs, arguments arg0.. as u64", () => {
    const { probe, diagnostics } = frontEnd("name: t\nprograms:\n  - attach: raw_tp/sched_process_exec\n    fields: [arg1]\n");
    expect(diagnostics).toEqual([]);
    const [program] = probe!.programs;
    expect(program!.section).toBe("raw_tracepoint/sched_process_exec");
    expect(program!.name).toBe("sched_process_exec_raw");
    expect(program!.event!.fields.map((f) => [f.name, f.type])).toEqual([["arg1", { kind: "int", size: 8, signed: false }]]);
  });

  it("a misspelt raw tracepoint gets the nearest real ones", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: raw_tracepoint/sched_process_exex\n    fields: [pid]\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:3:13: the kernel has no tracepoint 'sched_process_exex'. Did you mean 'sched_process_exec' or 'sched_process_fork'?"]);
  });
});
