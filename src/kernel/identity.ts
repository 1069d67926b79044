/**
 * Which kernel a build reads, cheaply: what the build manifest is keyed by (compiler/cache.ts),
 * asked before anything is read from the kernel, so it loads none of the kernel readers.
 */
import { readFileSync } from "node:fs";
import { TRACEFS_MOUNT_POINTS, tracefsAccess } from "../runtime/tracefs-mount.js";

/** Where tracefs is looked for: PROBEGEN_TRACEFS (a copy, for tests), else where libbpf looks. */
export function tracefsMountPoints(): string[] {
  const override = process.env.PROBEGEN_TRACEFS;
  return override ? [override] : TRACEFS_MOUNT_POINTS;
}

export const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

const identities = new Map<string, string>();

/**
 * The running kernel (or its tracefs and symbols with another kernel's BTF file): the tracefs
 * it would read, the BTF file, this boot and this kernel's version. The same for the life of
 * the process, so asked once.
 */
export function kernelIdentity(btfFile?: string): string {
  const btf = btfFile ?? VMLINUX_BTF;
  let identity = identities.get(btf);
  if (identity === undefined) {
    const access = tracefsAccess(tracefsMountPoints());
    identity = [access.state === "readable" ? access.root : "no tracefs", btf, readProc("/proc/sys/kernel/random/boot_id"), readProc("/proc/version")].join("\0");
    identities.set(btf, identity);
  }
  return identity;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "unreadable";
  }
}
