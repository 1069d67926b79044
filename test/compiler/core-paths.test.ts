/** CO-RE paths and BTF-typed arguments, resolved against the running kernel's BTF. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Btf } from "../../src/kernel/btf/index.js";
import { Tracefs } from "../../src/kernel/tracefs.js";
import type { KernelInfo } from "../../src/compiler/resolve.js";
import { fixtureKernel, fixtureTracefs, frontEnd, located } from "../helpers/compile.js";

const vmlinux = "/sys/kernel/btf/vmlinux";
const hasBtf = existsSync(vmlinux);
if (!hasBtf) console.warn(`[core-paths.test.ts] SKIPPING: no kernel BTF at ${vmlinux}`);
let btf: Btf | undefined;
const kernel: KernelInfo = { ...fixtureKernel, btf: () => (btf ??= Btf.fromFile(vmlinux)) };
const spec = (program: string) => frontEnd(`name: t\nprograms:\n${program}`, "probes/test.yaml", kernel);

describe.skipIf(!hasBtf)("kernel types in specs", () => {
  it("task paths and ppid are typed from BTF", () => {
    const { probe, diagnostics } = spec("  - attach: tracepoint/sched/sched_process_exec\n    fields: [ppid, { name: parent, from: task.real_parent.comm }, { name: exe, from: task.mm.exe_file.f_path.dentry.d_name.name }]\n");
    expect(diagnostics).toEqual([]);
    expect(probe!.events[0]!.fields.map((f) => [f.name, f.type])).toEqual([
      ["ppid", { kind: "int", size: 4, signed: true }],
      ["parent", { kind: "string", size: 16 }],
      ["exe", { kind: "string", size: 256 }],
    ]);
    expect(probe!.btfTypes!.paths.length).toBe(3);
  });

  it("a misspelt member is named, with the nearest members", () => {
    const { diagnostics } = spec("  - attach: tracepoint/sched/sched_process_exec\n    fields: [{ name: p, from: task.real_parnet.tgid }]\n");
    expect(diagnostics).toHaveLength(1);
    expect(located(diagnostics)[0]).toMatch(/^probes\/test.yaml:4:31: .*real_parnet.*Did you mean 'real_parent'/);
  });

  it("a path through a non-pointer, non-struct member is refused with a hint", () => {
    const { diagnostics } = spec("  - attach: tracepoint/sched/sched_process_exec\n    fields: [{ name: p, from: task.tgid.x }]\n");
    expect(diagnostics[0]!.code).toBe("invalid-path");
    expect(diagnostics[0]!.span).toMatchObject({ line: 4, column: 31 });
  });

  it("a struct by value cannot be captured, and the hint says to name a member", () => {
    const { diagnostics } = spec("  - attach: tracepoint/sched/sched_process_exec\n    fields: [{ name: p, from: task.real_parent.thread_info }]\n");
    expect(diagnostics[0]!.code).toBe("invalid-path");
    expect(diagnostics[0]!.message).toContain("struct");
  });

  it("kprobe and fentry arguments by name, typed from the prototype; fexit sees the return value", () => {
    const { probe, diagnostics } = spec(
      "  - attach: kprobe/do_sys_openat2\n    event: k\n    fields: [dfd, { name: flags, from: args.how.flags }]\n" +
        "  - attach: fexit/do_sys_openat2\n    event: f\n    fields: [dfd, retval]\n",
    );
    expect(diagnostics).toEqual([]);
    const [k, f] = probe!.events;
    expect(k!.fields.map((x) => [x.name, x.type])).toEqual([["dfd", { kind: "int", size: 4, signed: true }], ["flags", { kind: "int", size: 8, signed: false }]]);
    expect(f!.fields.map((x) => x.source.kind)).toEqual(["kprobe-arg", "retval"]);
  });

  it("a function the kernel's BTF does not have is refused, with the nearest names", () => {
    const { diagnostics } = spec("  - attach: fentry/do_sys_opnat2\n    fields: [pid]\n");
    expect(located(diagnostics)[0]).toMatch(/^probes\/test.yaml:3:13: the kernel's BTF has no function 'do_sys_opnat2' to attach fentry to. Did you mean 'do_sys_openat2'/);
  });

  it("without BTF, a path is an error that says how to get it", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/sched/sched_process_exec\n    fields: [ppid]\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:14: 'task.real_parent.tgid' reads kernel structs, and there is no kernel BTF to type it"]);
    expect(diagnostics[0]!.hint).toContain("--btf FILE");
  });
});

describe.skipIf(!hasBtf)("tracefs formats cross-checked with BTF", () => {
  it("agree for this kernel's sched_process_exec", () => {
    const { diagnostics } = spec("  - attach: tracepoint/sched/sched_process_exec\n    fields: [pid, old_pid, filename]\n");
    expect(diagnostics).toEqual([]);
  });

  it("a format from another kernel is caught before any byte is misread", () => {
    const format = readFileSync(`${fixtureTracefs}/events/sched/sched_process_exec/format`, "utf8").replace("offset:16;\tsize:4", "offset:20;\tsize:4");
    const dir = mkdtempSync(join(tmpdir(), "probegen-tracefs-"));
    mkdirSync(join(dir, "events/sched/sched_process_exec"), { recursive: true });
    writeFileSync(join(dir, "events/sched/sched_process_exec/format"), format);
    const other: KernelInfo = { tracefs: () => new Tracefs(dir), symbols: () => undefined, btf: kernel.btf };
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/sched/sched_process_exec\n    fields: [pid]\n", "probes/test.yaml", other);
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:3:13: tracefs and the kernel's BTF disagree about sched/sched_process_exec: 'old_pid' is at offset 20 in the format but 16 in struct trace_event_raw_sched_process_exec",
    ]);
  });
});
