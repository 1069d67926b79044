/** A spec built the way a user's program uses it: generated loader transpiled to plain JS. */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSpecs } from "../../src/compiler/build.js";

/**
 * Builds `spec` into `outDir` with a loader that imports the compiled runtime (dist/) by its file
 * URL, so node alone can run it (another process, another user, the VM); returns the .mjs path.
 */
export async function buildLoaderModule(spec: string, outDir: string): Promise<string> {
  const runtime = pathToFileURL(resolve("dist/src/runtime/index.js")).href;
  const [result] = await buildSpecs([spec], { outDir, runtimeImport: runtime });
  if (result!.diagnostics.length) throw new Error(`${spec} did not build: ${result!.diagnostics.map((d) => d.message).join("; ")}`);
  const loader = result!.files.find((f) => f.path.endsWith(".ts"))!;
  const { ts } = await import("ts-morph");
  const js = ts.transpileModule(Buffer.from(loader.contents).toString(), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const jsPath = resolve(loader.path.replace(/\.ts$/, ".mjs"));
  writeFileSync(jsPath, js);
  return jsPath;
}
