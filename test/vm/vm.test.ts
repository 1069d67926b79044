/**
 * Tests of the Debian-kernel test VM itself (test/vm): one VM boot for the
 * whole file. Skipped, with the reason printed, when the VM is not built
 * (`bash test/vm/build.sh`); set PROBEGEN_VM_REQUIRED=1 to make that a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostHasFeature, placeFor, runInVm, VM_RUN_SH, VmError, vmStatus, type VmRunResult } from './vm.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIX = join(HERE, 'fixtures');
const hostRelease = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const status = vmStatus();
const required = process.env.PROBEGEN_VM_REQUIRED === '1';

function missingTools(): string[] {
  return ['clang', 'cc', 'bpftool'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
}

/** Skip (printing why) unless the VM is usable; fail instead if PROBEGEN_VM_REQUIRED=1. */
function needVm(ctx: { skip: (note?: string) => never }): void {
  if (status.available) return;
  const why = `test VM unavailable: ${status.reason}`;
  if (required && process.env.PROBEGEN_VM !== '1') throw new Error(`${why} (PROBEGEN_VM_REQUIRED=1)`);
  console.warn(`[vm] SKIP: ${why}`);
  ctx.skip(why);
}

// One guest run that does everything; each test asserts on its section.
let work = '';
let run: VmRunResult | undefined;
let runError: unknown;
let toolsMissing: string[] = [];
const sections = new Map<string, string>();
/** Where the kprobe/fentry checks run: directly when the host kernel can, else in the VM. */
const place = placeFor('kprobe', 'fentry');
let featureSections = sections;
let featureError: unknown;

function parseSections(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  let cur = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@@')) m.set((cur = line.slice(2)), '');
    else if (cur) m.set(cur, `${m.get(cur)}${line}\n`);
  }
  return m;
}

const GUEST_SCRIPT = String.raw`
set -u
D="$1"
echo "@@uname"; uname -r
echo "@@env"; echo "home=$HOME vm=$PROBEGEN_VM kernel=$PROBEGEN_VM_KERNEL cwd=$PWD"
echo "@@features"; bpftool feature probe kernel 2>/dev/null | grep -E 'program_type (kprobe|tracing|lsm) '
S="$D"; [ -n "$(printenv PROBEGEN_VM_SCRATCH)" ] && S="$(printenv PROBEGEN_VM_SCRATCH)"
echo "@@scratch"; echo scratch-ok > "$S/x" && cat "$S/x"
for p in kprobe fentry; do
  echo "@@$p"
  if [ -f "$D/$p.o" ]; then
    pin="/sys/fs/bpf/probegen_vm_test_$p"_$$
    mkdir -p "$pin"
    if "$D/attach" "$D/$p.o" "$pin"; then
      sync; sync; sync                       # 3 calls of ksys_sync()
      bpftool map dump pinned "$pin/map_counts" -j
    fi
    rm -rf "$pin"
  else
    echo "no object (host toolchain missing)"
  fi
done
echo "to-stderr" >&2
exit 7
`;

beforeAll(async () => {
  if (!status.available && place.where !== 'host') return;
  work = mkdtempSync(join(tmpdir(), 'probegen-vm-test-'));
  toolsMissing = missingTools();
  if (toolsMissing.length === 0) {
    // Built on the host; the guest sees the host's /tmp through its overlay.
    for (const p of ['kprobe', 'fentry']) {
      execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', join(FIX, `${p}_count.bpf.c`), '-o', join(work, `${p}.o`)]);
    }
    execFileSync('cc', ['-O2', join(FIX, 'attach.c'), '-lbpf', '-o', join(work, 'attach')]);
  }
  writeFileSync(join(work, 'guest.sh'), GUEST_SCRIPT);
  if (place.where === 'host' && toolsMissing.length === 0) {
    // The host kernel has the features: run the same checks directly.
    const r = spawnSync('bash', [join(work, 'guest.sh'), work], { encoding: 'utf8' });
    featureSections = parseSections(r.stdout);
    if (r.error) featureError = r.error;
  }
  if (!status.available) return;
  try {
    run = await runInVm(['bash', join(work, 'guest.sh'), work], { timeoutMs: 240_000 });
    console.log(`[vm] guest ${run.kernel} (host ${hostRelease}): boot+run ${(run.durationMs / 1000).toFixed(1)} s`);
    for (const [k, v] of parseSections(run.stdout)) sections.set(k, v);
  } catch (e) {
    runError = e;
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function guest(): VmRunResult {
  if (runError) throw runError;
  if (!run) throw new Error('VM run did not happen');
  return run;
}

describe('kernel features via the test VM (Debian kernel under qemu)', () => {
  // "[vm: RELEASE]" in a name tells the suite's summary which kernel ran the test.
  const inVm = `[vm: ${status.kernel ?? 'not built'}]`;
  it(`boots the Debian kernel, not the host kernel ${inVm}`, (ctx) => {
    needVm(ctx);
    const r = guest();
    const rel = sections.get('uname')?.trim();
    expect(rel).toBe(status.kernel);
    expect(rel).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(rel).not.toBe(hostRelease);
    expect(r.kernel).toBe(rel);
  });

  it(`relays exit code, stdout and stderr; sets HOME, cwd and scratch ${inVm}`, (ctx) => {
    needVm(ctx);
    const r = guest();
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('to-stderr');
    expect(sections.get('env')).toContain(`home=/tmp vm=1 kernel=${status.kernel} cwd=${process.cwd()}`);
    expect(sections.get('scratch')).toBe('scratch-ok\n');
  });

  it(`guest kernel offers kprobe, tracing (fentry/fexit/tp_btf) and lsm program types ${inVm}`, (ctx) => {
    needVm(ctx);
    guest();
    const f = sections.get('features') ?? '';
    if (toolsMissing.includes('bpftool')) ctx.skip('bpftool not installed on the host (the guest uses the host rootfs)');
    expect(f).toContain('program_type kprobe is available');
    expect(f).toContain('program_type tracing is available');
    expect(f).toContain('program_type lsm is available');
  });

  for (const p of ['kprobe', 'fentry'] as const) {
    it(`a ${p} program counts calls of ksys_sync() (host kernel if it can, else the VM) [${place.where}: ${place.kernel}]`, (ctx) => {
      if (place.where === 'skip') {
        if (required) throw new Error(`${place.reason} (PROBEGEN_VM_REQUIRED=1)`);
        console.warn(`[vm] SKIP: ${place.reason}`);
        ctx.skip(place.reason);
      }
      if (place.where === 'vm') guest();
      if (featureError) throw featureError;
      if (toolsMissing.length) {
        const why = `host toolchain missing: ${toolsMissing.join(', ')}`;
        console.warn(`[vm] SKIP: ${why}`);
        ctx.skip(why);
      }
      const out = featureSections.get(p) ?? '';
      expect(out).toMatch(new RegExp(`attached count_sync \\(${p}/ksys_sync\\)`));
      const json = out.split('\n').find((l) => l.startsWith('['));
      expect(json, `no map dump in guest output:\n${out}\nstderr:\n${run?.stderr}`).toBeDefined();
      const dump = JSON.parse(json!) as { formatted: { key: number; value: number } }[];
      expect(dump[0].formatted.value).toBeGreaterThanOrEqual(3);
      console.log(`[${place.where} ${place.kernel}] ${p}: ksys_sync calls counted = ${dump[0].formatted.value}`);
    });
  }
});

describe('test VM plumbing (no boot)', () => {
  it('run.sh exits 125 with a message when the VM is not built', () => {
    const empty = mkdtempSync(join(tmpdir(), 'probegen-vm-empty-'));
    try {
      const r = spawnSync('bash', [VM_RUN_SH, '--', 'true'], {
        env: { ...process.env, PROBEGEN_VM_CACHE: empty },
        encoding: 'utf8',
      });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/^probegen-vm: VM not built/m);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('runInVm rejects with VmError when the VM is unavailable', async () => {
    const saved = process.env.PROBEGEN_VM_CACHE;
    process.env.PROBEGEN_VM_CACHE = '/nonexistent/probegen-vm';
    try {
      await expect(runInVm(['true'])).rejects.toBeInstanceOf(VmError);
    } finally {
      if (saved === undefined) delete process.env.PROBEGEN_VM_CACHE;
      else process.env.PROBEGEN_VM_CACHE = saved;
    }
  });

  it('hostHasFeature / placeFor agree with the host kernel', () => {
    const kprobe = hostHasFeature('kprobe');
    expect(typeof kprobe).toBe('boolean');
    const p = placeFor('kprobe', 'fentry');
    console.log(
      `[vm] host ${hostRelease}: kprobe=${kprobe} fentry=${hostHasFeature('fentry')} lsm=${hostHasFeature('lsm')} -> ${p.where}: ${p.reason}`,
    );
    if (kprobe && hostHasFeature('fentry')) expect(p.where).toBe('host');
    else expect(p.where).toBe(status.available ? 'vm' : 'skip');
  });
});
