/**
 * The symbolizer against addresses the test knows: a PIE program gcc builds here prints where its
 * own function and libc's getpid are loaded, then waits; its stripped copies keep their names
 * through a debug link file and through MiniDebugInfo; kernel addresses come from /proc/kallsyms.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ElfFile } from "../../src/elf/elf-file.js";
import { KernelSymbolTable, Symbolizer } from "../../src/runtime/symbolize/index.js";

const hasTools = ["gcc", "objcopy", "nm", "xz"].every((tool) => spawnSync(tool, ["--version"]).status === 0);
if (!hasTools) console.log("symbolize tests skipped: they need gcc, objcopy, nm and xz (scripts/setup.sh installs them)");
if (process.getuid?.() !== 0) console.log("the chroot and mount namespace symbolize test is skipped: it needs root");

const dir = mkdtempSync(join(tmpdir(), "probegen-symbolize-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Prints its function's and getpid's runtime addresses, then waits for stdin to close. */
const program = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) long probegen_target(long x) {
  for (long i = 0; i < x; i++) x ^= i * 7 + (x >> 3);
  return x;
}
/* Hand-written assembly often declares no size: its symbol has size 0. */
__asm__(".text\\n.globl probegen_sizeless\\n.type probegen_sizeless, @function\\nprobegen_sizeless:\\n nop\\n nop\\n ret\\n");
int main(void) {
  printf("%p %p\\n", (void *)probegen_target, dlsym(RTLD_DEFAULT, "getpid"));
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {}
  return (int)probegen_target(getpid() & 1);
}
`;

let binary: string;
let target: { size: bigint; value: bigint };
let sizeless: bigint;
let plt: bigint;

beforeAll(() => {
  if (!hasTools) return;
  writeFileSync(join(dir, "prog.c"), program);
  binary = join(dir, "prog");
  execFileSync("gcc", ["-O1", "-g", "-fPIE", "-pie", "-Wl,--build-id", "-o", binary, join(dir, "prog.c"), "-ldl"]);
  const elf = ElfFile.open(binary);
  try {
    target = elf.symbols().find((s) => s.name === "probegen_target")!;
    sizeless = elf.symbols().find((s) => s.name === "probegen_sizeless")!.value;
    plt = elf.section(".plt")!.addr;
  } finally {
    elf.close();
  }
});

interface Running {
  pid: number;
  target: bigint;
  getpid: bigint;
}

/** Starts `path` (which execs the test program) and reads the addresses it prints. */
async function start(path: string, args: string[] = []): Promise<Running> {
  const child = spawn(path, args, { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  const [line] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  const [target, getpid] = line!.trim().split(" ").map((hex) => BigInt(hex));
  return { pid: child.pid!, target: target!, getpid: getpid! };
}

describe.skipIf(!hasTools)("Symbolizer.user", () => {
  it("names a PIE program's function with the offset into it", async () => {
    const run = await start(binary);
    const symbolizer = new Symbolizer();
    const [start0, inside] = symbolizer.user(run.pid, [run.target, run.target + 5n]);
    expect(start0).toMatchObject({ symbol: "probegen_target", offset: 0n, module: binary, text: "probegen_target" });
    expect(inside).toMatchObject({ symbol: "probegen_target", offset: 5n, text: "probegen_target+0x5" });
    expect(target.size).toBeGreaterThan(5n);
  });

  it("a size-0 symbol covers the code after it up to its section's end, and no further", async () => {
    const run = await start(binary);
    const bias = run.target - target.value;
    const [asm, inPlt] = new Symbolizer().user(run.pid, [bias + sizeless + 1n, bias + plt + 4n]);
    expect(asm).toMatchObject({ symbol: "probegen_sizeless", offset: 1n, text: "probegen_sizeless+0x1" });
    // .plt follows .init, whose _init has size 0: the stub is not "_init+0x...".
    expect(inPlt).toMatchObject({ text: `[unknown] (${binary})` });
  });

  it("names a libc function in the process's mapping of libc", async () => {
    const run = await start(binary);
    const [frame] = new Symbolizer().user(run.pid, [run.getpid + 2n]);
    expect(frame!.module).toMatch(/\/libc\.so\.6$/);
    // __getpid and getpid share the address: the exported name without underscores is shown.
    expect(frame).toMatchObject({ symbol: "getpid", offset: 2n, text: "getpid+0x2" });
  });

  it("looks a stack's return addresses up one byte earlier (a call that ends its function)", async () => {
    const run = await start(binary);
    const end = run.target + target.size;
    const [leaf, caller] = new Symbolizer().stack({ kind: "user", pid: run.pid, addresses: [run.target + 1n, end] });
    expect(leaf!.text).toBe("probegen_target+0x1");
    expect(caller).toMatchObject({ symbol: "probegen_target", offset: target.size, address: end });
  });

  it("names a stripped program's function from its debug link file, and checks the file's CRC", async () => {
    const sub = join(dir, "debuglink");
    mkdirSync(sub);
    const stripped = join(sub, "prog");
    execFileSync("objcopy", ["--only-keep-debug", binary, join(sub, "prog.debug")]);
    execFileSync("objcopy", ["--strip-all", `--add-gnu-debuglink=${join(sub, "prog.debug")}`, binary, stripped]);
    const run = await start(stripped);

    const [frame] = new Symbolizer().user(run.pid, [run.target + 3n]);
    expect(frame).toMatchObject({ symbol: "probegen_target", offset: 3n, module: stripped });

    // A debug file of that name whose CRC does not match is not believed: the frame is unknown.
    writeFileSync(join(sub, "prog.debug"), Buffer.concat([readFileSync(join(sub, "prog.debug")), Buffer.from([0])]));
    const [unmatched] = new Symbolizer().user(run.pid, [run.target + 3n]);
    expect(unmatched!.text).toBe(`[unknown] (${stripped})`);
    expect(unmatched!.reason).toMatch(/no function symbol/);
  });

  it("names a stripped program's function from its .gnu_debugdata (MiniDebugInfo)", async () => {
    const sub = join(dir, "minidebuginfo");
    mkdirSync(sub);
    // The recipe Fedora uses: keep the function symbols .dynsym lacks, in an xz-compressed ELF file.
    const names = (args: string[]) => new Set(execFileSync("nm", [...args, "--format=posix", "--defined-only", binary], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")));
    const dynamic = new Set([...names(["-D"])].map((f) => f[0]));
    const keep = [...names([])].filter((f) => (f[1] === "T" || f[1] === "t") && !dynamic.has(f[0])).map((f) => f[0]);
    expect(keep).toContain("probegen_target");
    writeFileSync(join(sub, "keep"), keep.join("\n") + "\n");
    const mini = join(sub, "mini");
    execFileSync("objcopy", ["--only-keep-debug", binary, mini]);
    execFileSync("objcopy", ["-S", "--remove-section", ".comment", `--keep-symbols=${join(sub, "keep")}`, mini]);
    execFileSync("xz", ["--keep", mini]);
    const stripped = join(sub, "prog");
    execFileSync("objcopy", ["--strip-all", "--remove-section", ".comment", "--add-section", `.gnu_debugdata=${mini}.xz`, binary, stripped]);
    rmSync(mini);
    const run = await start(stripped);

    const symbolizer = new Symbolizer();
    const [frame] = symbolizer.user(run.pid, [run.target + 4n]);
    expect(frame).toMatchObject({ symbol: "probegen_target", offset: 4n, module: stripped, text: "probegen_target+0x4" });
    // The program itself, then its decompressed .gnu_debugdata.
    expect(symbolizer.stats().elfFilesRead).toBeGreaterThanOrEqual(2);
  });

  it("gives [unknown] frames with a reason, never an exception: unmapped, not a file, a dead process", async () => {
    const run = await start(binary);
    const symbolizer = new Symbolizer();
    const stack = BigInt(`0x${/^([0-9a-f]+)-.*\[stack\]$/m.exec(readFileSync(`/proc/${run.pid}/maps`, "utf8"))![1]}`);
    const [unmapped, onStack] = symbolizer.user(run.pid, [0x10n, stack]);
    expect(unmapped).toMatchObject({ address: 0x10n, text: "[unknown]", reason: `0x10 is not mapped in process ${run.pid}` });
    expect(onStack).toMatchObject({ module: "[stack]", text: "[unknown] ([stack])" });
    expect(onStack!.symbol).toBeUndefined();

    const dead = spawnSync("true");
    const [gone] = symbolizer.user(dead.pid!, [run.target]);
    expect(gone).toMatchObject({ text: "[unknown]", reason: `process ${dead.pid} has exited` });
    expect(symbolizer.user(0, [0x1000n])[0]).toMatchObject({ text: "[unknown]", reason: "pid 0 is the kernel's idle task: it has no user space" });
  });

  it("names JIT-compiled code from the process's perf map (node --perf-basic-prof)", async () => {
    const script = `function probegenJit(n) { let x = 0; for (let i = 0; i < n; i++) x += (i * i) % 7; return x; }
      for (let i = 0; i < 5000; i++) probegenJit(1000);
      console.log("0x0 0x0"); process.stdin.resume();`;
    const child = spawn(process.execPath, ["--perf-basic-prof", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    const mapPath = `/tmp/perf-${child.pid}.map`;
    try {
      await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next();
      // The function's latest code (interpreted "~", baseline "^" or optimized "*"), from the file node wrote.
      const line = readFileSync(mapPath, "utf8").split("\n").filter((l) => / JS:[~^*]probegenJit /.test(l)).at(-1)!;
      const [start, , ...name] = line.split(" ");
      const address = BigInt(`0x${start}`) + 4n;
      const [frame] = new Symbolizer().user(child.pid!, [address]);
      expect(frame).toMatchObject({ symbol: name.join(" "), offset: 4n, module: mapPath });
      expect(frame!.text).toMatch(/^JS:[~^*]probegenJit .*\+0x4$/);
    } finally {
      child.kill("SIGKILL");
      rmSync(mapPath, { force: true });
    }
  });

  it("a file deleted after it was mapped is still read, through /proc/PID/map_files", async () => {
    const copy = join(dir, "deleted-prog");
    copyFileSync(binary, copy);
    const run = await start(copy);
    rmSync(copy);
    const [frame] = new Symbolizer().user(run.pid, [run.target + 1n]);
    expect(frame).toMatchObject({ symbol: "probegen_target", module: `${copy} (deleted)`, text: "probegen_target+0x1" });
  });

  it.skipIf(process.getuid?.() !== 0)("reads the files of a process in another root: a chroot, and a mount namespace of its own (a container's)", async () => {
    const root = join(dir, "root");
    mkdirSync(join(root, "old"), { recursive: true });
    const source = join(dir, "static.c");
    writeFileSync(source, program.replace(/dlsym\(RTLD_DEFAULT, "getpid"\)/, "(void *)main").replace("#include <dlfcn.h>", ""));
    execFileSync("gcc", ["-O1", "-static", "-o", join(root, "prog"), source]);

    // chroot: maps names the file from our root, where it can be opened as it is.
    const chrooted = await start("chroot", [root, "/prog"]);
    expect(new Symbolizer().user(chrooted.pid, [chrooted.target + 2n])[0])
      .toMatchObject({ symbol: "probegen_target", offset: 2n, module: join(root, "prog"), text: "probegen_target+0x2" });

    // pivot_root in a new mount namespace: maps says /stripped, which only /proc/PID/root reaches,
    // and so does its debug link file /stripped.debug.
    execFileSync("objcopy", ["--only-keep-debug", join(root, "prog"), join(root, "stripped.debug")]);
    execFileSync("objcopy", ["--strip-all", `--add-gnu-debuglink=${join(root, "stripped.debug")}`, join(root, "prog"), join(root, "stripped")]);
    const script = `mount --make-rprivate / && mount --bind ${root} ${root} && cd ${root} && pivot_root . old && exec /stripped`;
    const contained = await start("unshare", ["--mount", "sh", "-c", script]);
    expect(readFileSync(`/proc/${contained.pid}/maps`, "utf8")).toMatch(/ \/stripped$/m);
    expect(new Symbolizer().user(contained.pid, [contained.target + 2n])[0])
      .toMatchObject({ symbol: "probegen_target", offset: 2n, module: "/stripped", text: "probegen_target+0x2" });
  });

  it("reads each binary's symbols once: another process of the same program opens no ELF file", async () => {
    const first = await start(binary);
    const second = await start(binary);
    const symbolizer = new Symbolizer();
    expect(symbolizer.user(first.pid, [first.target, first.getpid])[0]!.symbol).toBe("probegen_target");
    const before = symbolizer.stats();
    expect(before).toMatchObject({ mapsRead: 1, symbolTablesParsed: 2 });

    const frames = symbolizer.user(second.pid, [second.target, second.getpid, second.target + 1n]);
    expect(frames.map((f) => f.symbol)).toEqual(["probegen_target", "getpid", "probegen_target"]);
    const after = symbolizer.stats();
    expect(after.elfFilesRead).toBe(before.elfFilesRead);
    expect(after.symbolTablesParsed).toBe(before.symbolTablesParsed);
    expect(after.cacheHits).toBeGreaterThan(before.cacheHits);
    expect(after.mapsRead).toBe(2);

    // Mappings are read once per pid until refresh.
    symbolizer.user(second.pid, [second.target]);
    expect(symbolizer.stats().mapsRead).toBe(2);
    symbolizer.refresh(second.pid);
    symbolizer.user(second.pid, [second.target]);
    expect(symbolizer.stats().mapsRead).toBe(3);
  });
});

describe("Symbolizer.kernel", () => {
  const kallsyms = (() => {
    try {
      return readFileSync("/proc/kallsyms", "utf8");
    } catch {
      return "";
    }
  })();
  const visible = /^[0-9a-f]*[1-9a-f][0-9a-f]* [tT] /m.test(kallsyms);
  if (!visible) console.log("kernel symbolization test skipped: /proc/kallsyms shows no addresses (needs root)");

  it.skipIf(!visible)("names a kallsyms entry, and a module's function with its module", () => {
    const entry = (pattern: RegExp) => {
      const m = pattern.exec(kallsyms)!;
      return { address: BigInt(`0x${m[1]}`), name: m[2]!, module: m[3] };
    };
    const vfsRead = entry(/^([0-9a-f]+) [tT] (vfs_read)$/m);
    const symbolizer = new Symbolizer();
    const [exact, inside] = symbolizer.kernel([vfsRead.address, vfsRead.address + 0x10n]);
    expect(exact).toMatchObject({ symbol: "vfs_read", offset: 0n, text: "vfs_read" });
    expect(inside).toMatchObject({ symbol: "vfs_read", offset: 0x10n, text: "vfs_read+0x10" });
    expect(symbolizer.stats().kernelSymbols).toBeGreaterThan(1000);

    const modulePattern = /^([0-9a-f]+) [tT] (\S+)\t\[(\w+)\]$/m;
    if (modulePattern.test(kallsyms)) {
      const fn = entry(modulePattern);
      expect(symbolizer.kernel([fn.address + 1n])[0]).toMatchObject({ symbol: fn.name, offset: 1n, module: fn.module });
    }
  });

  it("hidden kernel addresses (all zero without privileges) give [unknown] with the reason", () => {
    const path = join(dir, "kallsyms-hidden");
    writeFileSync(path, "0000000000000000 T _text\n0000000000000000 t vfs_read\n0000000000000000 t ext4_fill_super\t[ext4]\n");
    const [frame] = new Symbolizer({ kallsyms: path }).kernel([0xffffffff81234567n]);
    expect(frame).toMatchObject({ text: "[unknown]" });
    expect(frame!.reason).toMatch(/every address as zero: reading kernel addresses needs root or CAP_SYSLOG/);
    expect(KernelSymbolTable.read(join(dir, "missing")).unavailable).toMatch(/cannot read .*missing: ENOENT/);
  });
});
