/** execsnoop end to end: the test spawns a child and sees its exec. */
import { eventsOfChild } from "../helpers/child-events.js";
import { describe, expect, it } from "vitest";
import { loadExecsnoop, type ExecEvent } from "../../generated/execsnoop.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/execsnoop.test.ts");

describe.skipIf(!support.ok)("execsnoop on the running kernel", () => {
  it("sees a child the test spawns, with its pid, its parent (read with CO-RE), comm and path", async () => {
    using probe = await loadExecsnoop();
    const child = await eventsOfChild<ExecEvent>(probe.events, "/bin/true");
    expect(child.events).toEqual([{ pid: child.pid, ppid: process.pid, uid: process.getuid!(), comm: "true", oldPid: child.pid, filename: "/bin/true" }]);
  });
});
