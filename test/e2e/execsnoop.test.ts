/** execsnoop end to end: the test spawns a child and sees its exec. */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { loadExecsnoop, type ExecEvent } from "../../generated/execsnoop.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/execsnoop.test.ts");

describe.skipIf(!support.ok)("execsnoop on the running kernel", () => {
  it("sees a child the test spawns, with its pid, its parent (read with CO-RE), comm and path", async () => {
    using probe = await loadExecsnoop();
    const events: ExecEvent[] = [];
    probe.events.on((ev) => events.push(ev));
    const child = spawn("/bin/true", [], { stdio: "ignore" });
    await new Promise((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 1000;
    while (!events.some((e) => e.pid === child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const mine = events.filter((e) => e.pid === child.pid);
    expect(mine).toEqual([{ pid: child.pid, ppid: process.pid, uid: process.getuid!(), comm: "true", oldPid: child.pid, filename: "/bin/true" }]);
  });
});
