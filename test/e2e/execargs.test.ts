/**
 * Lists of user strings on the running kernel: execve's argv, read pointer by pointer and string
 * by string, equals what the test passed, cut where the spec's bounds say.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadExecargs, type ExecEvent } from "../../generated/execargs.js";
import { buildSpecs } from "../../src/compiler/build.js";
import { eventsOfChild } from "../helpers/child-events.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/execargs.test.ts");
const out = "test/.out/execargs";

// Small bounds, to see each cut: 4 strings of at most 7 bytes.
const smallSpec = `name: small_lists
programs:
  - attach: tracepoint/syscalls/sys_enter_execve
    fields: [pid, { name: args, from: argv, count: 4, size: 8 }]
`;
interface SmallEvent { pid: number; args: string[]; argsTruncated: boolean }
let loadSmall: () => Promise<{ events: { on(fn: (e: SmallEvent) => void): void } } & Disposable>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/small_lists.yaml`, smallSpec);
  const [result] = await buildSpecs([`${out}/small_lists.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  loadSmall = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/small_lists.ts`)).loadSmallLists;
});

describe.skipIf(!support.ok)("lists of user strings (execve's argv) on the running kernel", () => {
  it("argv is what the child was given: empty strings and spaces included, argv[0] first", async () => {
    using probe = await loadExecargs();
    const child = await eventsOfChild<ExecEvent>(probe.events, "/bin/true", ["a", "b c", "", "d"]);
    expect(child.events).toEqual([{
      pid: child.pid, ppid: process.pid, uid: process.getuid!(), comm: expect.any(String), filename: "/bin/true",
      argv: ["/bin/true", "a", "b c", "", "d"], argvTruncated: false,
    }]);
  });

  it("keeps 20 arguments: exactly 20 is the whole list, 21 is cut and says so", async () => {
    using probe = await loadExecargs();
    const args = (n: number) => Array.from({ length: n - 1 }, (_, i) => `arg${i + 1}`);
    const whole = await eventsOfChild<ExecEvent>(probe.events, "/bin/true", args(20));
    expect(whole.events.map((e) => [e.argv, e.argvTruncated])).toEqual([[["/bin/true", ...args(20)], false]]);
    const cut = await eventsOfChild<ExecEvent>(probe.events, "/bin/true", args(40));
    expect(cut.events.map((e) => [e.argv, e.argvTruncated])).toEqual([[["/bin/true", ...args(20)], true]]);
  });

  it("cuts each string to size - 1 bytes and the list to count strings, as the spec says", async () => {
    using probe = await loadSmall();
    const child = await eventsOfChild<SmallEvent>(probe.events, "/bin/true", ["", "b c", "0123456789", "more"]);
    expect(child.events).toEqual([{ pid: child.pid, args: ["/bin/tr", "", "b c", "0123456"], argsTruncated: true }]);
  });

  it("only execs called by the command the comm parameter names", async () => {
    // The child's comm at execve is node's (the process that forked it), not true's.
    using others = await loadExecargs({ params: { comm: "not-node" } });
    expect((await eventsOfChild<ExecEvent>(others.events, "/bin/true", ["x"])).events).toEqual([]);
    using mine = await loadExecargs({ params: { comm: readComm() } });
    expect((await eventsOfChild<ExecEvent>(mine.events, "/bin/true", ["x"])).events.map((e) => e.argv)).toEqual([["/bin/true", "x"]]);
  });
});

function readComm(): string {
  return readFileSync("/proc/self/comm", "utf8").trim();
}
