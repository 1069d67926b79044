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
    const target = (prefix: string) => (prefix === "tracepoint" ? `${prefix}/cat/name` : prefix === "socket" ? prefix : `${prefix}/name`);
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

describe("network attach kinds", () => {
  const spec = (attach: string) => `name: t\nprograms:\n  - attach: ${attach}\n    update:\n      - { map: n, count: true }\nmaps:\n  n: { value: u64 }\n`;

  it("tc, cgroup_skb and socket programs: their sections, names and sk_buff context", () => {
    const cases = [["tc/ingress", "tc", "tc_ingress"], ["tc/egress", "tc", "tc_egress"], ["cgroup_skb/ingress", "cgroup_skb/ingress", "cgroup_skb_ingress"],
      ["cgroup_skb/egress", "cgroup_skb/egress", "cgroup_skb_egress"], ["socket", "socket", "socket_filter"]];
    for (const [attach, section, name] of cases) {
      const { probe, diagnostics } = frontEnd(spec(attach!));
      expect(diagnostics, attach).toEqual([]);
      expect([probe!.programs[0]!.section, probe!.programs[0]!.name]).toEqual([section, name]);
    }
  });

  it("a direction that is not one, a socket with a target, and a kind without its direction are errors at the attach text", () => {
    expect(located(frontEnd(spec("tc/ingres")).diagnostics)).toEqual(["probes/test.yaml:3:13: 'tc/ingres' is not a direction: tc programs see traffic coming in or going out"]);
    expect(located(frontEnd(spec("cgroup_skb/in")).diagnostics)).toEqual(["probes/test.yaml:3:13: 'cgroup_skb/in' is not a direction: cgroup_skb programs see traffic coming in or going out"]);
    expect(located(frontEnd(spec("socket/eth0")).diagnostics)[0]).toMatch(/^probes\/test.yaml:3:13: /);
  });
});
