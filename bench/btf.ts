/**
 * BTF reader and minimal-header numbers: load, index, lookups, header size, and clang's time on
 * a tiny CO-RE program with the minimal header vs the full vmlinux.h.
 * Run: npm run build && node dist/bench/btf.js [BTF_FILE]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Btf, HeaderBuilder, resolvePath } from "../src/kernel/btf/index.js";

const file = process.argv[2] ?? "/sys/kernel/btf/vmlinux";
const ms = (t0: number) => `${(performance.now() - t0).toFixed(1)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let t0 = performance.now();
const btf = Btf.fromFile(file);
console.log(`load ${file}: ${ms(t0)} (${btf.typeCount - 1} types)`);
t0 = performance.now();
const task = btf.findByName("task_struct", "struct")!;
console.log(`first lookup (builds the name index): ${ms(t0)}`);
t0 = performance.now();
for (let i = 0; i < 1000; i++) btf.findByName("sk_buff", "struct");
console.log(`1000 more lookups: ${ms(t0)}`);
t0 = performance.now();
const loads: number[] = [];
for (let i = 0; i < 5; i++) { const s = performance.now(); Btf.fromFile(file); loads.push(performance.now() - s); }
console.log(`load, warm, median of 5: ${median(loads).toFixed(1)} ms`);

t0 = performance.now();
const path = resolvePath(btf, task, ["real_parent", "tgid"]);
if (!path.ok) throw new Error(path.error.message);
const header = new HeaderBuilder(btf).path(task, path.steps).emit();
console.log(`path + header: ${ms(t0)}, header ${header.length} bytes`);
const full = new HeaderBuilder(btf).define(task).emit();
console.log(`header defining all of task_struct: ${full.length} bytes`);

const dir = mkdtempSync(join(tmpdir(), "probegen-bench-"));
try {
  const body = `#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
char LICENSE[] SEC("license") = "GPL";
int out;
SEC("tracepoint/syscalls/sys_enter_getpid")
int probe(void *ctx) { struct task_struct *t = (void *)bpf_get_current_task(); out = BPF_CORE_READ(t, real_parent, tgid); return 0; }
`;
  writeFileSync(join(dir, "min.c"), `${header}\n${body}`);
  writeFileSync(join(dir, "full.c"), `#include "vmlinux.h"\n${body}`);
  writeFileSync(join(dir, "vmlinux.h"), execFileSync("bpftool", ["btf", "dump", "file", file, "format", "c"], { maxBuffer: 1 << 28 }));
  const clang = (src: string) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const r = spawnSync("clang", ["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-c", join(dir, src), "-o", join(dir, `${src}.o`)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
      times.push(performance.now() - s);
    }
    return median(times);
  };
  const tMin = clang("min.c"), tFull = clang("full.c");
  console.log(`clang, median of 5: minimal header ${tMin.toFixed(0)} ms, vmlinux.h (${(header.length / 1024).toFixed(1)} KB vs ${(statSync(join(dir, "vmlinux.h")).size / 1024 / 1024).toFixed(1)} MB) ${tFull.toFixed(0)} ms: ${(tFull / tMin).toFixed(1)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
