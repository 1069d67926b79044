/**
 * USDT probes on the running kernel: a program the test builds with <sys/sdt.h> fires probes
 * of known arguments (a negative int, a 64-bit value, a short, a byte, a string pointer) and a
 * probe behind a semaphore, which it fires only while a tracer has counted the semaphore up;
 * and the bundled pycalls spec on Debian's python3, calling a known function a known number of
 * times. Uprobes need no tracing program type, so this runs on the host.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { ElfFile } from "../../src/elf/elf-file.js";
import { usdtProbes } from "../../src/elf/usdt.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { buildUsdtTarget, DEBIAN_PYTHON } from "../helpers/usdt-target.js";

const support = await bpfSupport();
skipNote(support, "e2e/usdt.test.ts");
const target = buildUsdtTarget();
if ("skip" in target) console.log(`skipped e2e/usdt.test.ts's program: ${target.skip}`);
const python = pythonProbes();
if (python.skip) console.log(`skipped e2e/usdt.test.ts's python test: ${python.skip}`);
const out = "test/.out/usdt";

/** Whether Debian's python3 (with its USDT notes) is here. */
function pythonProbes(): { skip?: string } {
  if (!existsSync(DEBIAN_PYTHON)) return { skip: `no ${DEBIAN_PYTHON} (apt-get install python3)` };
  const elf = ElfFile.open(DEBIAN_PYTHON);
  try {
    return usdtProbes(elf).some((p) => p.name === "function__entry") ? {} : { skip: `${DEBIAN_PYTHON} has no python:function__entry USDT probe` };
  } finally {
    elf.close();
  }
}

interface ValuesEvent { type: "values"; pid: number; negative: number; big: bigint; small: number; byte: number; text: string; seq: bigint }
interface GuardedEvent { type: "guarded"; pid: number; seq: bigint }
type Probe = Disposable & { events: { on(fn: (ev: ValuesEvent | GuardedEvent) => void): void } };
let load: (options?: { pid?: number }) => Promise<Probe>;

/** The test program, driven a line at a time: each line fires its probes and says whether the guarded one fired. */
class Target {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #replies: AsyncIterator<string>;
  constructor(path: string) {
    this.child = spawn(path, [], { stdio: "pipe" });
    this.#replies = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Fires the probes once; true when the semaphore-guarded probe fired too. */
  async fire(): Promise<boolean> {
    this.child.stdin.write("fire\n");
    const { value } = await this.#replies.next();
    return value === "guarded=1";
  }
  close(): void {
    this.child.stdin.end();
  }
}

/** Events seen until `done` resolves, then a drain interval or two. */
async function collect<E>(probe: { events: { on(fn: (ev: E) => void): void } }, run: () => Promise<void>): Promise<E[]> {
  const seen: E[] = [];
  probe.events.on((ev) => seen.push(ev));
  await run();
  await new Promise((r) => setTimeout(r, 100));
  return seen;
}

beforeAll(async () => {
  if ("skip" in target || !support.ok) return;
  mkdirSync(out, { recursive: true });
  const spec = `${out}/pgtest.yaml`;
  writeFileSync(spec, [
    "name: pgtest",
    "programs:",
    `  - attach: usdt/${target.path}:pgtest:values`,
    "    event: values",
    "    fields: [pid, { name: negative, from: arg0 }, { name: big, from: arg1 }, { name: small, from: arg2 }, { name: byte, from: arg3 },",
    "             { name: text, from: arg4, type: user_string, size: 32 }, { name: seq, from: arg5 }]",
    `  - attach: usdt/${target.path}:pgtest:guarded`,
    "    event: guarded",
    "    fields: [pid, { name: seq, from: arg0 }]",
    "",
  ].join("\n"));
  const [result] = await buildSpecs([spec], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/pgtest.ts`)).loadPgtest;
});

afterAll(() => "dir" in target && rmSync(target.dir, { recursive: true, force: true }));

describe.skipIf(!support.ok || "skip" in target)("usdt on a program built with <sys/sdt.h>", () => {
  it("reads each argument as its note types it, and fires the guarded probe only while attached", async () => {
    const app = new Target((target as { path: string }).path);
    try {
      expect(await app.fire()).toBe(false); // nobody attached: the semaphore is 0
      const probe = await load();
      let guarded: boolean[] = [];
      const events = await collect(probe, async () => {
        guarded = [await app.fire(), await app.fire()];
      });
      probe[Symbol.dispose]();
      expect(guarded).toEqual([true, true]);
      const mine = events.filter((e) => e.pid === app.pid);
      expect(mine).toEqual([
        { type: "values", pid: app.pid, negative: -42, big: 0xfedcba9876543210n, small: -1234, byte: 200, text: "hello usdt", seq: 2n },
        { type: "guarded", pid: app.pid, seq: 2n },
        { type: "values", pid: app.pid, negative: -42, big: 0xfedcba9876543210n, small: -1234, byte: 200, text: "hello usdt", seq: 3n },
        { type: "guarded", pid: app.pid, seq: 3n },
      ]);
      // Detached: libbpf counted the semaphore back down.
      expect(await app.fire()).toBe(false);
    } finally {
      app.close();
    }
  });

  it("with the pid option, fires for that process alone (its semaphore alone counted up)", async () => {
    const [watched, other] = [new Target((target as { path: string }).path), new Target((target as { path: string }).path)];
    try {
      const probe = await load({ pid: watched.pid });
      let guarded: boolean[] = [];
      const events = await collect(probe, async () => {
        guarded = [await watched.fire(), await other.fire()];
      });
      probe[Symbol.dispose]();
      expect(guarded).toEqual([true, false]);
      expect(events.map((e) => [e.type, e.pid])).toEqual([["values", watched.pid], ["guarded", watched.pid]]);
    } finally {
      watched.close();
      other.close();
    }
  });
});

describe.skipIf("skip" in target)("usdt at load", () => {
  it("refuses a file that lost the probe since the build, naming the probe and what the file has", async () => {
    const copy = `${(target as { dir: string }).dir}/pgtest-copy`;
    copyFileSync((target as { path: string }).path, copy);
    const spec = `${out}/lost.yaml`;
    writeFileSync(spec, `name: lost\nprograms:\n  - attach: usdt/${copy}:pgtest:guarded\n    fields: [pid]\n`);
    const [result] = await buildSpecs([spec], { outDir: out });
    expect(result!.diagnostics).toEqual([]);
    const { loadLost } = await import(/* @vite-ignore */ `${process.cwd()}/${out}/lost.ts`);
    copyFileSync("/bin/true", copy); // "upgraded" to a build without probes
    await expect(loadLost()).rejects.toThrow(`program 'pgtest_guarded' attaches to USDT probe pgtest:guarded of ${copy}, and the file installed now has no such probe (it has no USDT probes): rebuild the spec against it`);
  });
});

describe.skipIf(!support.ok || !!python.skip)("pycalls (bundled) on Debian's python3", () => {
  it("sees each call of a known function, with its file, name and line, and counts the process's calls", async () => {
    interface Call { pid: number; comm: string; file: string; function: string; line: number }
    type PyProbe = Probe & { events: { on(fn: (ev: Call) => void): void }; maps: { calls: { get(pid: number): bigint | undefined } } };
    const { loadPycalls } = (await import(/* @vite-ignore */ `${process.cwd()}/generated/pycalls.ts`)) as { loadPycalls: (options: object) => Promise<PyProbe> };
    // The interpreter's startup makes ~900 calls in a few ms: room for them all while the test's loop is busy.
    const probe = await loadPycalls({ maps: { events: { size: 1 << 22 } } });
    try {
      let pid = 0;
      const calls = await collect<Call>(probe, async () => {
        const child = spawn(DEBIAN_PYTHON, ["-S", "-c", "def pg_counted(n):\n    return n + 1\n\nfor i in range(7):\n    pg_counted(i)\n"], { stdio: "ignore" });
        pid = child.pid!;
        await new Promise((resolve) => child.on("exit", resolve));
      });
      const mine = calls.filter((c) => c.pid === pid);
      expect(mine.filter((c) => c.function === "pg_counted")).toEqual(Array(7).fill({ pid, comm: "python3", file: "<string>", function: "pg_counted", line: 1 }));
      // Every call the process made, the interpreter's own startup included, was counted.
      expect(probe.maps.calls.get(pid)).toBe(BigInt(mine.length));
    } finally {
      probe[Symbol.dispose]();
    }
  });
});
