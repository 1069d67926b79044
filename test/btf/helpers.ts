/** Shared by the BTF tests: the running kernel's BTF (or a reason it is absent) and clang. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Btf } from "../../src/kernel/btf/index.js";

export const vmlinuxPath = "/sys/kernel/btf/vmlinux";
export const hasVmlinux = existsSync(vmlinuxPath);
export const hasClang = spawnSync("sh", ["-c", "command -v clang"]).status === 0;

let kernel: Btf | undefined;
export function kernelBtf(): Btf {
  return (kernel ??= Btf.fromFile(vmlinuxPath));
}

/** Skip the test, saying why, when the kernel has no BTF. */
export function needVmlinux(ctx: { skip: (note?: string) => never }): void {
  if (hasVmlinux) return;
  console.warn(`[btf] SKIP: ${vmlinuxPath} is absent (kernel built without CONFIG_DEBUG_INFO_BTF)`);
  ctx.skip(`${vmlinuxPath} absent`);
}

export function needClang(ctx: { skip: (note?: string) => never }): void {
  if (hasClang) return;
  console.warn("[btf] SKIP: clang is not installed");
  ctx.skip("clang absent");
}

export const scratch = (): string => mkdtempSync(join(tmpdir(), "probegen-btf-"));

/** clang -target bpf on one C text; returns the object's bytes or throws with clang's stderr. */
export function compileBpf(dir: string, name: string, c: string, extra: string[] = []): Uint8Array {
  const src = join(dir, `${name}.c`), obj = join(dir, `${name}.o`);
  writeFileSync(src, c);
  const multiarch = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  const arch = process.arch === "arm64" ? "arm64" : "x86";
  const r = spawnSync("clang", ["-g", "-O2", "-target", "bpf", `-D__TARGET_ARCH_${arch}`, `-I/usr/include/${multiarch}`,
    "-Wall", "-Werror", "-c", src, "-o", obj, ...extra], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`clang failed on ${src}:\n${r.stderr}`);
  return new Uint8Array(readFileSync(obj));
}
