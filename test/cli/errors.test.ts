/**
 * Errors that say what really happened, as the user sees them: the toolchain, the spec's path,
 * tracefs (unreadable, unmounted), EPERM (a missing capability versus the kernel's policy), and a
 * closed pipe. Unprivileged cases run the CLI or a loader as nobody or with capabilities dropped;
 * tracefs is unmounted only inside a private mount namespace.
 */
import { execa } from "execa";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureTracefs } from "../helpers/compile.js";
import { buildLoaderModule } from "../helpers/loader.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { bin, cacheDir, probegen } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "probegen-errors-"));
chmodSync(scratch, 0o755); // nobody runs loaders from here
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const support = await bpfSupport();
skipNote(support, "cli/errors.test.ts");

const fixtureEnv = { PROBEGEN_TRACEFS: fixtureTracefs };
const typo = "name: typo\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, filenme]\n";

/** Runs a command the way a user's shell would, without throwing on failure. */
const sh = (file: string, args: string[], env: Record<string, string> = {}) =>
  execa(file, args, { reject: false, stdin: "ignore", env: { NO_COLOR: "1", PROBEGEN_CACHE_DIR: cacheDir, ...env } });
const asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
/** Loads a transpiled loader and prints what the user would read: its error's message. */
const loadScript = (loader: string, fn: string) =>
  `const m = await import(${JSON.stringify(loader)}); try { (await m.${fn}()).close(); console.log("loaded"); } catch (e) { console.log(e.message); process.exitCode = 4; }`;

describe("the toolchain", () => {
  const build = (env: Record<string, string>) =>
    probegen(["build", "--no-cache", "-o", join(scratch, "out"), "probes/opensnoop.yaml"], process.cwd(), { ...fixtureEnv, ...env });

  it("a clang not in PATH is named with the package to install", async () => {
    const path = join(scratch, "bin-without-clang");
    mkdirSync(path, { recursive: true });
    symlinkSync(process.execPath, join(path, "node"));
    const r = await execa(process.execPath, [bin, "build", "--no-cache", "-o", join(scratch, "out"), "probes/opensnoop.yaml"], {
      reject: false, env: { PATH: path, NO_COLOR: "1", PROBEGEN_CACHE_DIR: cacheDir, ...fixtureEnv }, extendEnv: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("error: clang was not found ('clang' is not in PATH)");
    expect(r.stderr).toContain("hint: install it: apt-get install -y clang");
  });

  it("a missing llvm-strip is named with its package, llvm", async () => {
    const r = await build({ PROBEGEN_LLVM_STRIP: "/nonexistent/llvm-strip" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("error: llvm-strip was not found ('/nonexistent/llvm-strip' does not exist)");
    expect(r.stderr).toContain("apt-get install -y llvm ");
  });

  it("a tool that fails without a diagnostic is reported with its exit status and what it printed", async () => {
    const silent = join(scratch, "silent-clang");
    writeFileSync(silent, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const talkative = join(scratch, "crashing-clang");
    writeFileSync(talkative, "#!/bin/sh\necho 'clang: crashed in the backend' >&2\nexit 70\n", { mode: 0o755 });
    const r1 = await build({ PROBEGEN_CLANG: silent });
    expect(r1.stderr).toContain("error: clang exited with status 3 and printed nothing");
    const r2 = await build({ PROBEGEN_CLANG: talkative });
    expect(r2.stderr).toContain("error: clang exited with status 70: clang: crashed in the backend");
    expect(r2.stderr).not.toContain("clang failed:  [clang]");
  });
});

describe("a spec is named by a path the user can open", () => {
  it("outside the working directory: absolute, with the code frame, in text and --json", async () => {
    const dir = join(scratch, "elsewhere");
    mkdirSync(dir, { recursive: true });
    const spec = join(dir, "typo.yaml");
    writeFileSync(spec, typo);
    const text = await probegen(["check", spec], process.cwd(), fixtureEnv);
    expect(text.exitCode).toBe(1);
    expect(text.stderr).toContain(`${spec}:4:19: error: 'filenme' is not a value`);
    expect(text.stderr).toContain("  4 |     fields: [pid, filenme]");
    expect(text.stderr).toContain(`✗ ${spec}: 1 error`);
    const json = JSON.parse((await probegen(["check", "--json", spec], process.cwd(), fixtureEnv)).stdout);
    expect(json[0]).toMatchObject({ spec, ok: false });
    expect(json[0].diagnostics[0].span).toMatchObject({ file: spec, line: 4, column: 19 });
  });

  it("inside it: relative to it, from wherever the spec was named", async () => {
    const dir = join(scratch, "project");
    mkdirSync(join(dir, "probes"), { recursive: true });
    writeFileSync(join(dir, "probes", "typo.yaml"), typo);
    const r = await probegen(["check", join(dir, "probes", "typo.yaml")], dir, fixtureEnv);
    expect(r.stderr).toContain("probes/typo.yaml:4:19: error:");
    expect(r.stderr).not.toContain(dir);
  });
});

describe("tracefs", () => {
  it("mounted but unreadable (mode 0700, not root): build and check say so, and what to do", async (ctx) => {
    if (!isRoot) return ctx.skip("needs root to run probegen as nobody");
    const probe = await sh(asNobody[0]!, [...asNobody.slice(1), "test", "-x", "/sys/kernel/tracing"]);
    if (probe.exitCode === 0) return ctx.skip("tracefs is readable by nobody here (not mode 0700)");
    for (const args of [["check"], ["build", "--no-cache", "-o", join(scratch, "nobody-out")]]) {
      const r = await sh(asNobody[0]!, [...asNobody.slice(1), process.execPath, bin, ...args, "probes/opensnoop.yaml"]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain("tracefs is mounted at /sys/kernel/tracing but this user may not read it (permission denied)");
      expect(r.stderr).toContain("hint: run as root, or let other users read it: mount -o remount,mode=755 /sys/kernel/tracing");
      expect(r.stderr).not.toContain("not mounted");
    }
  });

  it.skipIf(!support.ok)("a loader built earlier, run where tracefs is not mounted, says so (not 'does not exist')", async (ctx) => {
    const loader = await buildLoaderModule("probes/opensnoop.yaml", join(scratch, "unmounted"));
    // A private mount namespace: the umount is invisible to the host.
    const script = `umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null
      if [ -e /sys/kernel/tracing/events ] || [ -e /sys/kernel/debug/tracing/events ]; then echo STILL-MOUNTED; exit 0; fi
      exec "$0" --input-type=module -e "$1"`;
    const r = await sh("unshare", ["-m", "sh", "-c", script, process.execPath, loadScript(loader, "loadOpensnoop")]);
    if (r.stdout.includes("STILL-MOUNTED")) return ctx.skip("tracefs could not be unmounted in a private mount namespace");
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stdout).toContain("cannot attach program 'sys_enter_openat' to 'tracepoint/syscalls/sys_enter_openat'");
    expect(r.stdout).toContain("tracefs is not mounted, so the tracepoint's id cannot be read to attach to it; mount it (as root): mount -t tracefs tracefs /sys/kernel/tracing");
    expect(r.stdout).not.toContain("the attach point does not exist");
    expect(readFileSync("/proc/self/mounts", "utf8")).toMatch(/ \/sys\/kernel\/(debug\/)?tracing tracefs /); // the host's is still there
  });
});

describe("EPERM: a missing capability or the kernel's policy", () => {
  it.skipIf(!support.ok)("without CAP_BPF, as nobody or as root with the capabilities dropped, the capability is named", async () => {
    const loader = await buildLoaderModule("probes/opensnoop.yaml", join(scratch, "eperm"));
    const runs = {
      nobody: await sh(asNobody[0]!, [...asNobody.slice(1), process.execPath, "--input-type=module", "-e", loadScript(loader, "loadOpensnoop")]),
      rootWithoutCaps: await sh("capsh", ["--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c", 'exec "$0" --input-type=module -e "$1"',
        process.execPath, loadScript(loader, "loadOpensnoop")]),
    };
    for (const [who, r] of Object.entries(runs)) {
      expect(r.stdout, `${who}: ${r.stderr}`).toContain("EPERM (errno 1)");
      expect(r.stdout, who).toContain("operation not permitted: this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); run it as root, or give it those capabilities");
      expect(r.stdout, who).not.toContain("kernel's policy");
    }
  });

  it.skipIf(!support.ok)("with every BPF capability, a refused fentry program is the kernel's policy, not a privilege", async (ctx) => {
    const r = await probegen(["run", "-d", "500ms", "probes/fopen.yaml"]);
    if (r.exitCode === 0) return ctx.skip("fentry programs load on this kernel: no policy refusal to report");
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("cannot load BPF object 'fopen': program 'do_sys_openat2_entry' (probes/fopen.yaml:5): EPERM (errno 1)");
    expect(r.stderr).toMatch(/operation not permitted, although this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN, so this is the kernel's policy, not a missing privilege: /);
    expect(r.stderr).not.toContain("lacks");
    expect(r.stderr).not.toContain("ulimit -l"); // libbpf's advice does not apply since 5.11
  });
});

describe.skipIf(!support.ok)("probegen run and its output", () => {
  it("`run ... 2>&1 | head -3` prints 3 lines and exits 0 when head closes the pipe", async () => {
    // Opens happen all the time; this loop makes sure, until the pipeline is over.
    const target = join(scratch, "opened");
    writeFileSync(target, "x");
    const opener = setInterval(() => closeSync(openSync(target, "r")), 20);
    try {
      const r = await execa("bash", ["-c", `"$0" "$1" run probes/opensnoop.yaml 2>&1 | head -3; echo "probegen exit: \${PIPESTATUS[0]}" >&2`, process.execPath, bin], {
        reject: false, env: { NO_COLOR: "1", PROBEGEN_CACHE_DIR: cacheDir }, timeout: 60_000,
      });
      expect(r.stdout.split("\n")).toHaveLength(3);
      expect(r.stdout).toMatch(/^Attached 1 program of opensnoop/);
      expect(r.stderr.trim()).toBe("probegen exit: 0");
    } finally {
      clearInterval(opener);
    }
  });

  it("--json for a probe without a ring buffer prints its maps and no drop counts (run.test.ts: with one)", async () => {
    // This process opens a file every 20 ms while the probe runs, so the map has entries on an idle machine too.
    const opener = setInterval(() => readFileSync("/etc/hostname"), 20);
    const r = await probegen(["run", "--json", "-d", "1s", "test/fixtures/cli/mapsonly.yaml"]).finally(() => clearInterval(opener));
    expect(r.exitCode, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    expect(Object.keys(last)).toEqual(["maps"]);
    expect(last.maps.opens.length).toBeGreaterThan(0);
  });
});

describe("a user without CAP_BPF (nobody, every capability cleared)", () => {
  const nobody = [...asNobody, "--inh-caps=-all"];
  /** The CLI as nobody, with a tracefs nobody may read (the fixture), so the privilege is what is tested. */
  const cliAsNobody = (args: string[]) =>
    sh(nobody[0]!, [...nobody.slice(1), process.execPath, bin, ...args], { ...fixtureEnv, HOME: "/nonexistent" });
  const writable = join(scratch, "nobody-writes-here");
  mkdirSync(writable, { recursive: true });
  chmodSync(writable, 0o777);

  it("check and build need no privilege; a build into a directory nobody may write says which and what to do", async (ctx) => {
    if (!isRoot) return ctx.skip("needs root to run probegen as nobody");
    const check = await cliAsNobody(["check", "probes/opensnoop.yaml"]);
    expect(check.exitCode, check.stderr).toBe(0);
    const build = await cliAsNobody(["build", "-o", join(writable, "out"), "probes/opensnoop.yaml"]);
    expect(build.exitCode, build.stderr).toBe(0);
    expect(readFileSync(join(writable, "out", "opensnoop.bpf.o")).length).toBeGreaterThan(0);

    const rootOnly = join(scratch, "root-only");
    mkdirSync(rootOnly, { recursive: true });
    chmodSync(rootOnly, 0o755);
    const refused = await cliAsNobody(["build", "-o", rootOnly, "probes/opensnoop.yaml"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`error: cannot write the outputs in ${rootOnly}: permission denied (EACCES)`);
    expect(refused.stderr).toContain("hint: choose an output directory this user may write: -o DIR");
    expect(refused.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it.skipIf(!support.ok)("probegen run builds, then says the capability is missing (exit 4)", async (ctx) => {
    if (!isRoot) return ctx.skip("needs root to run probegen as nobody");
    const r = await cliAsNobody(["run", "-d", "1s", "probes/opensnoop.yaml"]);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain("probegen run: cannot load BPF object 'opensnoop' (probes/opensnoop.yaml): EPERM (errno 1)");
    expect(r.stderr).toContain("this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); run it as root, or give it those capabilities");
  });

  it.skipIf(!support.ok)("a loader with a pinned map says pins need root, not that bpffs is missing", async (ctx) => {
    if (!isRoot) return ctx.skip("needs root to run a loader as nobody");
    const dir = join(scratch, "pinned");
    mkdirSync(dir, { recursive: true });
    const spec = join(dir, `nobody_pin_${process.pid}.yaml`);
    writeFileSync(spec, `name: nobody_pin_${process.pid}
maps:
  counts: { type: hash, key: u32, value: u64, pinned: true }
programs:
  - attach: tracepoint/syscalls/sys_enter_getppid
    update:
      - { map: counts, key: pid, count: true }
`);
    const loader = await buildLoaderModule(spec, dir);
    const r = await sh(nobody[0]!, [...nobody.slice(1), process.execPath, "--input-type=module", "-e", loadScript(loader, `loadNobodyPin${process.pid}`)]);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stdout).toContain(`cannot create /sys/fs/bpf/probegen/nobody_pin_${process.pid} for pinned map 'counts'`);
    expect(r.stdout).toContain("EACCES (errno 13)");
    expect(r.stdout).toContain("this user may not create pins in bpffs (only root may write in /sys/fs/bpf); run it as root");
    expect(r.stdout).not.toContain("is bpffs mounted");
  });
});
