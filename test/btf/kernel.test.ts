/** Known facts about the running kernel's types, read from /sys/kernel/btf/vmlinux. */
import { describe, expect, it } from "vitest";
import { Btf, BtfError } from "../../src/kernel/btf/index.js";
import { kernelBtf, needVmlinux } from "./helpers.js";

describe("the running kernel's BTF", () => {
  it("has task_struct with real_parent and tgid", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    expect(task).toBeGreaterThan(0);
    const names = btf.members(task).map((m) => m.name);
    expect(names).toContain("real_parent");
    expect(names).toContain("tgid");
    const parent = btf.members(task).find((m) => m.name === "real_parent")!;
    expect(btf.describe(parent.type)).toBe("struct task_struct *");
    expect(parent.bitOffset % 64).toBe(0);
    expect(btf.sizeOf(task)).toBeGreaterThan(1000);
  });

  it("knows pid_t is a typedef of int (through __kernel_pid_t)", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const pid = btf.type(btf.findByName("pid_t")!);
    expect(pid.kind).toBe("typedef");
    const int = btf.type(btf.resolve(pid.id));
    expect(int).toMatchObject({ kind: "int", name: "int", size: 4, signed: true });
    expect(btf.sizeOf(pid.id)).toBe(4);
    expect(btf.describe(pid.id)).toBe("pid_t");
  });

  it("reads do_sys_openat2's prototype: (int dfd, const char *filename, struct open_how *how) -> long", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const sig = btf.funcProto("do_sys_openat2")!;
    expect(sig).toBeDefined();
    expect(sig.params.map((p) => [p.name, btf.describe(p.type)])).toEqual([
      ["dfd", "int"], ["filename", "const char *"], ["how", "struct open_how *"],
    ]);
    expect(btf.describe(sig.returnType)).toMatch(/^(long|int)$/);
    expect(btf.funcProto("no_such_function_xyz")).toBeUndefined();
  });

  it("has the newer kinds where this kernel emits them (enum64, decl_tag, type_tag, datasec)", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const seen = new Map<string, number>();
    for (let id = 1; id < btf.typeCount; id++) seen.set(btf.kindName(id), id);
    if (!seen.has("enum64") && !seen.has("decl_tag")) ctx.skip("this kernel's BTF has neither ENUM64 nor DECL_TAG");
    if (seen.has("enum64")) {
      const e = btf.type(seen.get("enum64")!);
      expect(e.kind).toBe("enum64");
      if (e.kind === "enum64") expect(typeof e.values[0]?.value).toBe("bigint");
    }
    if (seen.has("decl_tag")) {
      const t = btf.type(seen.get("decl_tag")!);
      expect(t.kind === "decl_tag" && t.componentIdx >= -1).toBe(true);
    }
    // Every type of every kind materialises without throwing.
    for (let id = 1; id < btf.typeCount; id++) btf.type(id);
  });

  it("finds each name it indexes, and prefers a definition over a forward declaration", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    expect(btf.kindName(btf.findByName("task_struct")!)).toBe("struct");
    expect(btf.findAllByName("do_sys_openat2", "func").length).toBeGreaterThanOrEqual(1);
    expect(btf.findByName("no_such_type_xyz")).toBeUndefined();
    expect(btf.names("struct")).toContain("sk_buff");
  });

  it("rejects what is not BTF with a clear error", () => {
    expect(() => Btf.fromBytes(new Uint8Array(40))).toThrow(BtfError);
    expect(() => Btf.fromBytes(new Uint8Array(40))).toThrow(/magic/);
    expect(() => Btf.fromFile("/nonexistent/btf")).toThrow(/cannot read BTF/);
  });
});
