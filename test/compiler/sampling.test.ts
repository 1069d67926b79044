/** profile/HZ, interval/MS and the kstack/ustack builtins in the front end: what builds, and each mistake's message. */
import { describe, expect, it } from "vitest";
import { maxSampleRate } from "../../src/runtime/perf-event.js";
import { STACK_RECORD } from "../../src/runtime/stack.js";
import { frontEnd, located } from "../helpers/compile.js";

const counting = (attach: string) => `name: t\nprograms:\n  - attach: ${attach}\n    update:\n      - { map: n, count: true }\nmaps:\n  n: { value: u64 }\n`;
const errors = (text: string) => located(frontEnd(text).diagnostics);

describe("profile/HZ and interval/MS", () => {
  it("build as perf_event programs with their runtime descriptors", () => {
    const profile = frontEnd(counting("profile/99")).probe!.programs[0]!;
    expect([profile.section, profile.name]).toEqual(["perf_event", "profile_99hz"]);
    expect(profile.attach).toEqual({ kind: "profile", value: 99 });
    const interval = frontEnd(counting("interval/250")).probe!.programs[0]!;
    expect([interval.section, interval.name]).toEqual(["perf_event", "interval_250ms"]);
  });

  it("refuse what is not a whole number, naming the form", () => {
    expect(errors(counting("profile/99hz"))).toEqual(["probes/test.yaml:3:13: profile/HZ takes a whole number of samples per second, not '99hz'"]);
    expect(errors(counting("interval/1s"))).toEqual(["probes/test.yaml:3:13: interval/MS takes a whole number of milliseconds, not '1s'"]);
    expect(errors(counting("profile/*"))).toEqual(["probes/test.yaml:3:13: profile points are numbers, not names to match with a pattern"]);
  });

  it("refuse rates and periods out of range; a rate above the kernel's limit names the sysctl and its value", () => {
    expect(errors(counting("profile/0"))[0]).toMatch(/profile\/0: a profile samples from 1 to \d+ times a second/);
    expect(errors(counting("interval/0"))).toEqual(["probes/test.yaml:3:13: interval/0: an interval is from 1 to 3600000 milliseconds (an hour)"]);
    expect(errors(counting("interval/3600001"))).toHaveLength(1);
    const max = maxSampleRate();
    if (max === undefined) return;
    const { diagnostics } = frontEnd(counting(`profile/${max + 1}`));
    expect(located(diagnostics)).toEqual([`probes/test.yaml:3:13: profile/${max + 1}: a profile samples from 1 to ${max} times a second on this kernel (kernel.perf_event_max_sample_rate)`]);
    expect(diagnostics[0]!.hint).toBe(`use a lower rate such as profile/99, or raise the limit: sysctl kernel.perf_event_max_sample_rate=${max + 1}`);
    expect(frontEnd(counting(`profile/${max}`)).diagnostics).toEqual([]);
  });

  it("reads builtins with ordinary filters, and nothing else", () => {
    expect(frontEnd(`name: t\nparams:\n  pid: { type: u32 }\nprograms:\n  - attach: profile/99\n    filter: pid == params.pid && comm == "bash"\n    fields: [pid, tid, comm, cpu, ktime]\n`).diagnostics).toEqual([]);
    expect(errors(`name: t\nprograms:\n  - attach: profile/99\n    fields: [arg0]\n`)[0]).toMatch(/^probes\/test.yaml:4:14: 'arg0' is not a value of profile\/99/);
  });
});

describe("kstack and ustack", () => {
  it("are event fields of STACK_RECORD.words u64s, and struct key members", () => {
    const { probe, diagnostics } = frontEnd(`name: t
maps:
  by_stack: { type: hash, key: { comm: "string[16]", ustack: ustack, kstack: kstack }, value: u64 }
programs:
  - attach: tracepoint/sched/sched_process_exec
    fields: [kstack, ustack]
    update:
      - { map: by_stack, key: { comm: comm, ustack: ustack, kstack: kstack }, count: true }
`);
    expect(diagnostics).toEqual([]);
    const fields = probe!.programs[0]!.event!.fields;
    expect(fields.map((f) => [f.name, f.type])).toEqual([
      ["kstack", { kind: "array", element: { kind: "int", size: 8, signed: false }, length: STACK_RECORD.words, stack: "kernel" }],
      ["ustack", { kind: "array", element: { kind: "int", size: 8, signed: false }, length: STACK_RECORD.words, stack: "user" }],
    ]);
    const key = probe!.maps.find((m) => m.name === "by_stack")!.key!;
    expect(key.kind === "struct" && key.struct.layout.size).toBe(2 * STACK_RECORD.words * 8 + 16);
  });

  it("a stack key member takes that stack only", () => {
    const spec = (member: string, from: string) => `name: t
maps:
  s: { type: hash, key: { stack: ${member} }, value: u64 }
programs:
  - attach: tracepoint/sched/sched_process_exec
    update:
      - { map: s, key: { stack: ${from} }, count: true }
`;
    const refused = (member: string, from: string) => frontEnd(spec(member, from)).diagnostics.map((d) => [located([d])[0], d.hint]);
    expect(refused("kstack", "ustack")).toEqual([["probes/test.yaml:7:33: cannot store ustack in kstack", "give the kstack builtin"]]);
    expect(refused('"u64[128]"', "kstack")).toEqual([["probes/test.yaml:7:33: cannot store kstack in u64[128]", "give a captured array of 1024 bytes, such as a tracepoint's address field"]]);
    expect(refused("ustack", "pid")).toEqual([["probes/test.yaml:7:33: cannot store u32 in ustack", "give the ustack builtin"]]);
  });

  it("are not numbers: filters and arithmetic refuse them", () => {
    expect(errors(`name: t\nprograms:\n  - attach: profile/99\n    filter: kstack != 0\n    fields: [pid]\n`)).toEqual([
      "probes/test.yaml:4:13: filter: 'kstack' is an array (kstack), which cannot be compared or computed with",
    ]);
  });

  it("are read as stacks only", () => {
    expect(errors(`name: t\nprograms:\n  - attach: profile/99\n    fields:\n      - { name: k, from: kstack, type: u64 }\n`)).toEqual([
      "probes/test.yaml:5:26: 'kstack' is a call stack and cannot be read as u64",
    ]);
  });

  it("network programs walk no stacks", () => {
    expect(errors(`name: t\nprograms:\n  - attach: xdp\n    fields: [kstack]\n`)).toEqual([
      "probes/test.yaml:4:14: 'kstack' is a call stack, and an xdp program cannot walk stacks (bpf_get_stack is for tracing programs)",
    ]);
  });
});
