/**
 * The kprobe/kretprobe pair. The verifier check runs on any kernel that loads BPF; attaching
 * needs kprobes, so that part runs on the host when its kernel has them, else in the
 * Debian-kernel VM (test/vm), else it is skipped with the reason printed.
 */
import { describe, expect, it } from "vitest";
import { loadOpenat2 } from "../../generated/openat2.js";
import { placement as placeTest, runScript } from "../helpers/feature-run.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/openat2.test.ts");
const placement = placeTest("e2e/openat2.test.ts", "kprobe", "kretprobe");

describe("openat2: kprobe and kretprobe on do_sys_openat2", () => {
  it.skipIf(!support.ok)("both programs pass the verifier of the running kernel", async () => {
    const probe = await loadOpenat2({ attach: false });
    try {
      expect(probe.object.programInfo().map((p) => p.name).sort()).toEqual(["do_sys_openat2", "do_sys_openat2_ret"]);
    } finally {
      probe.close();
    }
  });

  it.skipIf(placement.where === "skip")(`attaches and sees its own open, argument and return value [${placement.where}: ${placement.kernel}]`, async () => {
    const result = await runScript(placement, "test/e2e/guest/openat2.mjs");
    expect(result.events).toEqual([
      { type: "enter", pid: result.pid, tid: result.pid, comm: "node", dfd: -100, filename: result.path },
      { type: "exit", pid: result.pid, tid: result.pid, ret: result.fd },
    ]);
  }, 300_000);
});
