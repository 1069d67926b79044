/**
 * Test helpers for the probegen test VM (a Debian distro kernel under qemu,
 * see test/vm/README.md), and for deciding whether a kernel feature can be
 * tested on the host directly or needs the VM.
 *
 *   import { vmStatus, runInVm, hostHasFeature, placeFor } from '../vm/vm.js';
 *
 * The guest sees the host's root filesystem at the same paths (read-only over
 * 9p, under a tmpfs overlay: writes succeed but are discarded). Files the host
 * writes before runInVm() (e.g. under os.tmpdir()) are visible in the guest.
 * Inside the guest: PROBEGEN_VM=1, PROBEGEN_VM_SCRATCH=<tmpfs dir>,
 * PROBEGEN_VM_KERNEL=<release>, HOME=/tmp, running as root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Path of the shell runner (usable from a shell too). */
export const VM_RUN_SH = join(HERE, 'run.sh');
/** Path of the build script: `bash test/vm/build.sh`. */
export const VM_BUILD_SH = join(HERE, 'build.sh');

/** Cache directory holding the guest kernel and initramfs. */
export function vmCacheDir(): string {
  return process.env.PROBEGEN_VM_CACHE || '/var/cache/probegen-vm';
}

export interface VmStatus {
  /** true when the guest kernel/initramfs are built and qemu is installed. */
  available: boolean;
  /** why not available (printable). */
  reason?: string;
  /** guest kernel release, e.g. "6.1.0-56-amd64". */
  kernel?: string;
}

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH || '/usr/bin:/bin').split(':')) {
    const p = join(d || '.', cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Cheap check (no boot): is the VM built and can qemu run it? */
export function vmStatus(): VmStatus {
  const cur = join(vmCacheDir(), 'current');
  const hint = "run 'bash test/vm/build.sh'";
  if (process.env.PROBEGEN_VM_DISABLE === '1') return { available: false, reason: 'PROBEGEN_VM_DISABLE=1' };
  if (process.env.PROBEGEN_VM === '1') return { available: false, reason: 'already inside the test VM' };
  if (!which('qemu-system-x86_64')) return { available: false, reason: `qemu-system-x86_64 not installed (${hint})` };
  for (const f of ['initrd.img', 'kernel.release']) {
    if (!existsSync(join(cur, f))) return { available: false, reason: `VM not built: ${join(cur, f)} missing (${hint})` };
  }
  if (!existsSync(join(cur, 'vmlinux')) && !existsSync(join(cur, 'vmlinuz'))) {
    return { available: false, reason: `VM not built: no kernel image in ${cur} (${hint})` };
  }
  return { available: true, kernel: vmKernelRelease() };
}

/** Release string of the guest kernel (undefined if not built). */
export function vmKernelRelease(): string | undefined {
  try {
    return readFileSync(join(vmCacheDir(), 'current', 'kernel.release'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface RunInVmOptions {
  /** Working directory in the guest (default process.cwd()); must exist on the host. */
  cwd?: string;
  /** Whole-VM timeout including boot (default 300000 ms). */
  timeoutMs?: number;
  /** Extra environment for the command (PATH, CI, TERM, LANG, NODE_OPTIONS, PROBEGEN_*, VITEST_* pass through). */
  env?: Record<string, string>;
}

export interface VmRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** guest kernel release */
  kernel: string;
  /** wall time including boot */
  durationMs: number;
}

/** The VM itself failed (not built, qemu error, timeout) - not the command. */
export class VmError extends Error {
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
    this.name = 'VmError';
  }
}

/**
 * Boot the VM, run `cmd` (argv, no shell) as root in the guest, power off.
 * Resolves with the command's exit code and output (non-zero exit does not
 * throw); rejects with VmError if the VM is unavailable, fails or times out.
 * Cost: one boot, ~7-10 s under TCG plus the command's own time (TCG runs
 * code several times slower than the host).
 */
export async function runInVm(cmd: string[], opts: RunInVmOptions = {}): Promise<VmRunResult> {
  if (cmd.length === 0) throw new Error('runInVm: empty command');
  const st = vmStatus();
  if (!st.available) throw new VmError(`test VM unavailable: ${st.reason}`);
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const args = ['--timeout', String(Math.max(1, Math.ceil(timeoutMs / 1000)))];
  args.push('--cwd', opts.cwd ?? process.cwd());
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('--env', `${k}=${v}`);
  const t0 = Date.now();
  const r = await execa('bash', [VM_RUN_SH, ...args, '--', ...cmd], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    timeout: timeoutMs + 30_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  if (r.timedOut) throw new VmError(`test VM did not finish within ${timeoutMs + 30_000} ms`, stderr);
  if (r.exitCode === 125 && /^probegen-vm: /m.test(stderr)) {
    const line = stderr.split('\n').find((l) => l.startsWith('probegen-vm: '));
    throw new VmError(`test VM failed: ${line?.slice(13) ?? 'unknown'}\n${stderr.slice(-4000)}`, stderr);
  }
  if (r.exitCode === undefined) throw new VmError(`run.sh died: ${r.signal ?? r.message}`, stderr);
  return { exitCode: r.exitCode, stdout, stderr, kernel: st.kernel ?? 'unknown', durationMs: Date.now() - t0 };
}

// ------------------------------------------------------------------ host side

/** Kernel features the VM exists for. */
export type KernelFeature = 'kprobe' | 'kretprobe' | 'fentry' | 'fexit' | 'tp_btf' | 'lsm';

let bpftoolProbe: string | null | undefined;
function probeOutput(): string | null {
  if (bpftoolProbe !== undefined) return bpftoolProbe;
  try {
    bpftoolProbe = execFileSync('bpftool', ['feature', 'probe', 'kernel'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    });
  } catch {
    bpftoolProbe = null;
  }
  return bpftoolProbe;
}
function progTypeAvailable(type: string): boolean {
  const out = probeOutput();
  return out !== null && new RegExp(`program_type ${type} is available`).test(out);
}
const hostCache = new Map<KernelFeature, boolean>();

/**
 * Whether the HOST kernel can load and attach programs of this kind (cached).
 * kprobe/kretprobe: kprobe PMU or kprobe_events present. fentry/fexit/tp_btf:
 * `bpftool feature probe kernel` reports the `tracing` program type and the
 * kernel has BTF. lsm: `lsm` program type available and BPF LSM active.
 * Needs root for the bpftool probe (false otherwise).
 */
export function hostHasFeature(feature: KernelFeature): boolean {
  const hit = hostCache.get(feature);
  if (hit !== undefined) return hit;
  let ok: boolean;
  switch (feature) {
    case 'kprobe':
    case 'kretprobe':
      ok =
        existsSync(`/sys/bus/event_source/devices/${feature}`) ||
        existsSync('/sys/kernel/tracing/kprobe_events') ||
        existsSync('/sys/kernel/debug/tracing/kprobe_events');
      break;
    case 'fentry':
    case 'fexit':
    case 'tp_btf':
      ok = existsSync('/sys/kernel/btf/vmlinux') && progTypeAvailable('tracing');
      break;
    case 'lsm': {
      let active = true;
      try {
        active = readFileSync('/sys/kernel/security/lsm', 'utf8').split(',').includes('bpf');
      } catch {
        /* securityfs not mounted: trust the probe */
      }
      ok = active && existsSync('/sys/kernel/btf/vmlinux') && progTypeAvailable('lsm');
      break;
    }
    default:
      ok = false;
  }
  hostCache.set(feature, ok);
  return ok;
}

export interface Placement {
  /** 'host': run directly; 'vm': run with runInVm; 'skip': neither can. */
  where: 'host' | 'vm' | 'skip';
  /** kernel release that will run it (host's or guest's). */
  kernel?: string;
  /** printable explanation (always set for 'skip'). */
  reason: string;
}

/**
 * Where a test needing `features` should run: on the host when its kernel has
 * them all, else in the VM when built, else skip (print `reason`!).
 */
export function placeFor(...features: KernelFeature[]): Placement {
  const missing = features.filter((f) => !hostHasFeature(f));
  let hostRel = 'unknown';
  try {
    hostRel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    /* ignore */
  }
  if (missing.length === 0) return { where: 'host', kernel: hostRel, reason: `host kernel ${hostRel} has ${features.join(', ')}` };
  const st = vmStatus();
  if (st.available) {
    return { where: 'vm', kernel: st.kernel, reason: `host kernel ${hostRel} lacks ${missing.join(', ')}; using test VM (${st.kernel})` };
  }
  return { where: 'skip', reason: `host kernel ${hostRel} lacks ${missing.join(', ')} and the test VM is unavailable: ${st.reason}` };
}
