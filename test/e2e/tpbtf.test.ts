/**
 * tp_btf: a BTF-typed raw tracepoint whose arguments (struct task_struct *p, struct linux_binprm
 * *bprm) are named from the kernel's BTF and read with CO-RE. Runs where the kernel has the
 * tracing program type: the Debian-kernel VM here.
 */
import { mkdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { placement as placeTest, runScript } from "../helpers/feature-run.js";
import { buildLoaderModule } from "../helpers/loader.js";

const placement = placeTest("e2e/tpbtf.test.ts", "tp_btf");
const out = "test/.out/tpbtf";

describe("tp_btf/sched_process_exec", () => {
  it.skipIf(placement.where === "skip")(`names and types its arguments from BTF and follows them with CO-RE [${placement.where}: ${placement.kernel}]`, async () => {
    mkdirSync(out, { recursive: true });
    // The guest runs plain JS: the loader imports the compiled runtime by its file URL.
    const loader = await buildLoaderModule("test/fixtures/e2e/tpbtf.yaml", out);
    const r = await runScript(placement, "test/e2e/guest/tpbtf.mjs", [loader]);
    expect(r.events).toEqual([{ pid: r.child, oldPid: r.child, parent: r.me, path: "/bin/true", comm: "true" }]);
  }, 300_000);
});
