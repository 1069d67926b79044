/**
 * The minimal header: compiles with clang -target bpf next to libbpf's headers, keeps BTF's
 * layout exactly (checked by _Static_assert), and makes BPF_CORE_READ record CO-RE relocations.
 */
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Btf, elfSection, emitHeader, HeaderBuilder, resolvePath } from "../../src/kernel/btf/index.js";
import { compileBpf, hasClang, kernelBtf, needClang, needVmlinux, scratch } from "./helpers.js";

const program = (header: string) => `${header}
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
char LICENSE[] SEC("license") = "GPL";
int ppid_out;
SEC("tracepoint/syscalls/sys_enter_getpid")
int probe(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	ppid_out = BPF_CORE_READ(task, real_parent, tgid);
	return 0;
}
`;

/** CO-RE relocations from .BTF.ext, as "struct_name:access_string" (see btf.rst, "BTF.ext"). */
function coreRelocations(obj: Uint8Array): string[] {
  const btf = Btf.fromBytes(obj);
  const ext = elfSection(obj, ".BTF.ext")!;
  const dv = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < 32) return [];
  const off = hdrLen + dv.getUint32(24, true), len = dv.getUint32(28, true);
  const recSize = dv.getUint32(off, true);
  const out: string[] = [];
  for (let p = off + 4; p < off + len;) {
    const count = dv.getUint32(p + 4, true);
    for (let i = 0; i < count; i++) {
      const r = p + 8 + i * recSize;
      out.push(`${btf.nameOf(dv.getUint32(r + 4, true))}:${btf.str(dv.getUint32(r + 8, true))}`);
    }
    p += 8 + count * recSize;
  }
  return out;
}

describe("the minimal header against the running kernel", () => {
  it("compiles BPF_CORE_READ(task, real_parent, tgid) and records its CO-RE relocations", (ctx) => {
    needVmlinux(ctx);
    needClang(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const path = resolvePath(btf, task, ["real_parent", "tgid"]);
    if (!path.ok) throw new Error(path.error.message);
    const header = new HeaderBuilder(btf).path(task, path.steps).emit();
    expect(header).toContain("struct task_struct {");
    expect(header).toContain("struct task_struct *real_parent;");
    expect(header).toContain("preserve_access_index");
    expect(header.length).toBeLessThan(4000);
    const dir = scratch();
    const obj = compileBpf(dir, "ppid", program(header));
    const relos = coreRelocations(obj);
    expect(relos.length).toBe(2);
    expect(relos.every((r) => r.startsWith("task_struct:0:"))).toBe(true);
    // Where we may load programs, libbpf matches both relocations against the kernel.
    if (process.getuid?.() === 0 && existsSync("/sys/fs/bpf") && spawnSync("sh", ["-c", "command -v bpftool"]).status === 0) {
      const pin = `/sys/fs/bpf/probegen_btf_test_${process.pid}`;
      const load = spawnSync("bpftool", ["-d", "prog", "load", `${dir}/ppid.o`, pin], { encoding: "utf8" });
      rmSync(pin, { force: true });
      expect(load.status, load.stderr.slice(-2000)).toBe(0);
      expect(load.stderr).toMatch(/relo #1: patched insn/);
    }
  });

  it("defines task_struct, pt_regs and a function's argument types with BTF's exact layout", (ctx) => {
    needVmlinux(ctx);
    needClang(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const regs = btf.findByName("pt_regs", "struct")!;
    const header = new HeaderBuilder(btf).define(task).define(regs).funcArgs("do_sys_openat2").emit();
    const asserts: string[] = [];
    for (const id of [task, regs]) {
      const name = btf.nameOf(id);
      asserts.push(`_Static_assert(sizeof(struct ${name}) == ${btf.sizeOf(id)}, "size of ${name}");`);
      for (const m of btf.members(id)) {
        if (m.name === "" || m.bitfieldSize) continue;
        asserts.push(`_Static_assert(__builtin_offsetof(struct ${name}, ${m.name}) == ${m.bitOffset / 8}, "${name}.${m.name}");`);
      }
    }
    const c = `${program(header)}\nint open_args(int dfd, const char *filename, struct open_how *how) { return dfd; }\n${asserts.join("\n")}\n`;
    compileBpf(scratch(), "layout", c);
    expect(header).toContain("struct open_how;");
  });

  it("keeps the header several times smaller than vmlinux.h", (ctx) => {
    needVmlinux(ctx);
    const btf = kernelBtf();
    const task = btf.findByName("task_struct", "struct")!;
    const steps = (p: string[]) => { const r = resolvePath(btf, task, p); if (!r.ok) throw new Error(r.error.message); return r.steps; };
    const header = emitHeader(btf, { paths: [{ root: task, steps: steps(["real_parent", "tgid"]) }, { root: task, steps: steps(["mm", "exe_file", "f_path", "dentry", "d_name", "name"]) }] });
    expect(header.length).toBeLessThan(8000);
    expect(header).toMatch(/struct mm_struct \{/);
    expect(header).toMatch(/^struct file;$/m);
  });
});

const small = `
typedef unsigned int u32;
enum state { IDLE, BUSY = 5 };
typedef enum { A_ONE = 1 } anon_e;
struct __attribute__((packed)) pk { char a; int b; short c; };
struct al { char a; int b __attribute__((aligned(16))); };
struct bits { unsigned int a : 3, : 2, b : 5; int c : 9; long long d; unsigned char e : 1; };
struct list { struct list *next, *prev; };
struct opaque;
typedef struct { int counter; } atomic_t;
struct node {
  struct list list;
  union { int x; long y; struct { short lo, hi; }; };
  struct bits bits;
  struct pk pk;
  struct al al;
  enum state st;
  anon_e ae;
  atomic_t refs;
  int (*cb)(struct node *, struct opaque *);
  void (*handlers[2])(int);
  char name[16];
  struct opaque *op;
  unsigned long flags[0];
};
int use(struct node *n) { return n->x; }
`;

describe.skipIf(!hasClang)("the minimal header for a clang-made BTF", () => {
  it("round-trips packed, aligned, bitfield, anonymous, enum and function-pointer members exactly", () => {
    const btf = Btf.fromBytes(compileBpf(scratch(), "small", small));
    const node = btf.findByName("node", "struct")!;
    const header = new HeaderBuilder(btf, { prelude: false }).define(node).emit();
    expect(header).toContain("__attribute__((packed))");
    expect(header).toMatch(/unsigned int a : 3;/);
    expect(header).toMatch(/^struct opaque;$/m);
    expect(header).toContain("void (*handlers[2])(int);");
    const asserts = ["node", "bits", "pk", "al", "list"].flatMap((name) => {
      const id = btf.findByName(name, "struct")!;
      return [`_Static_assert(sizeof(struct ${name}) == ${btf.sizeOf(id)}, "${name}");`,
        ...btf.members(id).filter((m) => m.name && !m.bitfieldSize)
          .map((m) => `_Static_assert(__builtin_offsetof(struct ${name}, ${m.name}) == ${m.bitOffset / 8}, "${name}.${m.name}");`)];
    });
    const c = `${header}\n${asserts.join("\n")}\nint f(struct node *n) { return n->bits.c + n->lo + n->refs.counter + (n->st == BUSY) + (n->ae == A_ONE); }\n`;
    const again = Btf.fromBytes(compileBpf(scratch(), "again", c));
    // The bitfields come back at the same bit offsets.
    const bits = (b: Btf) => b.members(b.findByName("bits", "struct")!).filter((m) => m.name).map((m) => [m.name, m.bitOffset, m.bitfieldSize]);
    expect(bits(again)).toEqual(bits(btf));
  });

  it("trims a path-only struct to the members read, padded to the same offsets", () => {
    const btf = Btf.fromBytes(compileBpf(scratch(), "small2", small));
    const node = btf.findByName("node", "struct")!;
    const path = resolvePath(btf, node, ["hi"]);
    if (!path.ok) throw new Error(path.error.message);
    const header = emitHeader(btf, { paths: [{ root: node, steps: path.steps }] }, { prelude: false });
    expect(header).not.toContain("handlers");
    expect(header).toContain("short hi;");
    const hi = path.steps[0]!.bitOffset / 8;
    compileBpf(scratch(), "trim", `${header}\n_Static_assert(sizeof(struct node) == ${btf.sizeOf(node)}, "size");\n_Static_assert(__builtin_offsetof(struct node, hi) == ${hi}, "hi");\n`);
  });

  it("does not define what the caller's includes provide", () => {
    const btf = Btf.fromBytes(compileBpf(scratch(), "small3", small));
    const header = new HeaderBuilder(btf, { provided: ["struct list", "enum state"] }).define(btf.findByName("node", "struct")!).emit();
    expect(header).not.toContain("struct list {");
    expect(header).not.toContain("enum state {");
    expect(header).toMatch(/^struct list;$/m);
  });
});
