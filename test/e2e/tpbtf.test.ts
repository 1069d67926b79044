/**
 * tp_btf: a BTF-typed raw tracepoint whose arguments (struct task_struct *p, struct linux_binprm
 * *bprm) are named from the kernel's BTF and read with CO-RE. Runs where the kernel has the
 * tracing program type: the Debian-kernel VM here.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { placement as placeTest, runScript } from "../helpers/feature-run.js";

const placement = placeTest("e2e/tpbtf.test.ts", "tp_btf");
const out = "test/.out/tpbtf";

describe("tp_btf/sched_process_exec", () => {
  it.skipIf(placement.where === "skip")(`names and types its arguments from BTF and follows them with CO-RE [${placement.where}: ${placement.kernel}]`, async () => {
    mkdirSync(out, { recursive: true });
    // The guest runs plain JS: the loader imports the compiled runtime by its file URL.
    const runtime = pathToFileURL(resolve("dist/src/runtime/index.js")).href;
    const [result] = await buildSpecs(["test/fixtures/e2e/tpbtf.yaml"], { outDir: out, runtimeImport: runtime });
    expect(result!.diagnostics).toEqual([]);
    const { ts } = await import("ts-morph");
    const js = ts.transpileModule(Buffer.from(result!.files.find((f) => f.path.endsWith(".ts"))!.contents).toString(), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(`${out}/tpbtf.mjs`, js);

    const r = await runScript(placement, "test/e2e/guest/tpbtf.mjs", [`${out}/tpbtf.mjs`]);
    expect(r.events).toEqual([{ pid: r.child, oldPid: r.child, parent: r.me, path: "/bin/true", comm: "true" }]);
  }, 300_000);
});
