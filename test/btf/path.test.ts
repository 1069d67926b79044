/** Member paths against the running kernel: hops, pointer follows, anonymous members, errors. */
import { describe, expect, it } from "vitest";
import { resolvePath } from "../../src/kernel/btf/index.js";
import { kernelBtf, needVmlinux } from "./helpers.js";

describe("resolvePath", () => {
  it("resolves task.real_parent.tgid: one pointer followed, an int captured", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const r = resolvePath(btf, task, ["real_parent", "tgid"]);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.steps.map((s) => [s.name, s.deref, btf.nameOf(s.container)])).toEqual([["real_parent", false, "task_struct"], ["tgid", true, "task_struct"]]);
    expect(btf.describe(r.type)).toBe("pid_t");
    expect(r.capture).toEqual({ kind: "int", size: 4, signed: true, bool: false, enum: false, bitfieldSize: 0 });
    // From a pointer root the first hop is a follow too.
    const ptr = btf.funcProto("wake_up_new_task")?.params[0]?.type;
    if (ptr !== undefined) {
      const fromPtr = resolvePath(btf, ptr, ["real_parent", "tgid"]);
      expect(fromPtr.ok && fromPtr.steps.map((s) => s.deref)).toEqual([true, true]);
    }
  });

  it("looks through anonymous members and classifies strings", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const comm = resolvePath(btf, task, ["comm"]);
    expect(comm.ok && comm.capture).toEqual({ kind: "char_array", length: 16 });
    const exe = resolvePath(btf, task, ["mm", "exe_file", "f_path", "dentry", "d_name", "name"]);
    if (!exe.ok) throw new Error(exe.error.message);
    expect(exe.steps.map((s) => s.deref)).toEqual([false, true, true, false, true, false]);
    expect(exe.capture).toMatchObject({ kind: "pointer", charPointer: true });
    // mm_struct keeps exe_file inside an anonymous struct; d_name's name is in an anonymous union/struct.
    expect(exe.steps[1]!.via.length + exe.steps[5]!.via.length).toBeGreaterThan(0);
    const how = btf.funcProto("do_sys_openat2")!.params[2]!.type;
    const flags = resolvePath(btf, how, ["flags"]);
    expect(flags.ok && flags.capture).toMatchObject({ kind: "int", size: 8, signed: false });
  });

  it("names the members and the nearest ones when a member does not exist", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const r = resolvePath(btf, task, ["real_parent", "tigd"]);
    if (r.ok) throw new Error("resolved a misspelt member");
    expect(r.error).toMatchObject({ kind: "no_member", index: 1 });
    expect(r.error.suggestions).toContain("tgid");
    expect(r.error.members).toContain("real_parent");
    expect(r.error.message).toBe("struct task_struct has no member 'tigd'");
    expect(r.steps.length).toBe(1);
  });

  it("refuses a path through a non-struct and a value it cannot capture", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const through = resolvePath(btf, task, ["tgid", "x"]);
    expect(!through.ok && through.error).toMatchObject({ kind: "not_composite", index: 1 });
    expect(!through.ok && through.error.message).toMatch(/'tgid' is pid_t, not a struct/);
    const byValue = resolvePath(btf, task, ["se"]);
    expect(!byValue.ok && byValue.error).toMatchObject({ kind: "not_capturable", index: 0 });
    expect(!byValue.ok && byValue.error.hint).toMatch(/one member at a time/);
    expect(resolvePath(btf, task, ["se"], { capture: false }).ok).toBe(true);
    const array = resolvePath(btf, btf.findByName("pt_regs", "struct")!, []);
    expect(array.ok).toBe(false);
  });
});
