/**
 * Why the kernel said EPERM: a capability this process lacks, or a policy (lockdown, a security
 * module, the kernel's configuration) that refuses even a process holding every BPF capability.
 * Decided from what the process really has (CapEff in /proc/self/status), never from its uid.
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";

/** Bit numbers in a capability set (linux/capability.h). */
const CAPABILITY_BITS = { CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 } as const;
type BpfCapability = keyof typeof CAPABILITY_BITS;

/** The BPF-related capabilities in the process's effective set; undefined when /proc is unreadable. */
function effectiveBpfCapabilities(): Set<BpfCapability> | undefined {
  const hex = /^CapEff:\s*([0-9a-f]+)$/im.exec(readOrUndefined("/proc/self/status") ?? "")?.[1];
  if (!hex) return undefined;
  const bits = BigInt(`0x${hex}`);
  const held = Object.entries(CAPABILITY_BITS).filter(([, bit]) => (bits >> BigInt(bit)) & 1n);
  return new Set(held.map(([name]) => name as BpfCapability));
}

/** Plain words for EPERM from a BPF call, with what to do about it. */
export function explainPermissionDenied(): string {
  const caps = effectiveBpfCapabilities();
  const memlock = memlockLimitApplies()
    ? "; on this kernel (before 5.11) the locked-memory limit also applies: raise it (ulimit -l unlimited)"
    : "";
  if (caps && !hasBpfPrivileges(caps)) {
    const lacking = caps.has("CAP_BPF") ? "CAP_PERFMON (tracing programs need it with CAP_BPF)" : "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)";
    return `operation not permitted: this process lacks ${lacking}; run it as root, or give it those capabilities${memlock}`;
  }
  if (!caps) {
    return "operation not permitted: this process may lack CAP_BPF and CAP_PERFMON (/proc/self/status could not be read), " +
      `or the kernel's policy refused it: ${policyCulprits()}${memlock}`;
  }
  return `operation not permitted, although this process has ${listing([...caps].sort())}, so this is the kernel's policy, ` +
    `not a missing privilege: ${policyCulprits()}${memlock}`;
}

function listing(names: string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names.join("");
}

function hasBpfPrivileges(caps: Set<BpfCapability>): boolean {
  return caps.has("CAP_SYS_ADMIN") || (caps.has("CAP_BPF") && caps.has("CAP_PERFMON"));
}

/** What on this machine can refuse a privileged BPF call, as far as the kernel lets us see. */
function policyCulprits(): string {
  const mode = /\[(\w+)\]/.exec(readOrUndefined("/sys/kernel/security/lockdown") ?? "")?.[1];
  const lockdown = mode && mode !== "none"
    ? `kernel lockdown is active ('${mode}' mode in /sys/kernel/security/lockdown; set at boot by lockdown= or Secure Boot) and refuses some BPF uses; or `
    : "";
  const lsms = readOrUndefined("/sys/kernel/security/lsm")?.trim();
  const modules = lsms ? `a security module (active: ${lsms})` : "a security module (SELinux, AppArmor, a BPF LSM)";
  return `${lockdown}${modules}, the kernel's configuration or a sandbox refuses this program type or attach point ` +
    "(some kernels allow tracepoint and kprobe programs but not fentry/fexit/lsm); check the kernel log (dmesg), " +
    "or use a tracepoint attach point";
}

/** Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones to the memory cgroup. */
export function memlockLimitApplies(): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m !== null && (Number(m[1]) < 5 || (Number(m[1]) === 5 && Number(m[2]) < 11));
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
