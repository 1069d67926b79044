/** `probegen check [--json] SPEC...`: the front end only (schema, kernel, types), no clang. */
import { BuildCache, check } from "../compiler/build-api.js";
import { dropsOf } from "./drops.js";
import { ExitCode } from "./exit-codes.js";
import { printDiagnostics, useColor } from "./output.js";

export async function checkCommand(specs: string[], flags: { json: boolean; btf?: string }): Promise<number> {
  const results = await check(specs, { btf: flags.btf, cache: new BuildCache() });
  const drops = await Promise.all(results.map((r) => (r.probe ? dropsOf(r.probe) : undefined)));
  if (flags.json) {
    process.stdout.write(JSON.stringify(results.map((r, i) => ({
      spec: r.spec, ok: r.diagnostics.length === 0, diagnostics: r.diagnostics,
      ...(drops[i] ? { drops: drops[i]!.list } : {}),
    })), null, 2) + "\n");
  } else {
    const color = useColor(process.stderr);
    const green = (s: string) => (color ? `\x1b[32m${s}\x1b[39m` : s);
    const red = (s: string) => (color ? `\x1b[31m${s}\x1b[39m` : s);
    for (const [i, r] of results.entries()) {
      if (r.diagnostics.length === 0) {
        // A wrong condition on a real interface can cut a machine off: say so where it is checked.
        process.stderr.write(`${green("✓")} ${r.spec}${drops[i] ? `: ${drops[i]!.text}` : ""}\n`);
        continue;
      }
      printDiagnostics(r.diagnostics);
      process.stderr.write(`${red("✗")} ${r.spec}: ${r.diagnostics.length} error${r.diagnostics.length === 1 ? "" : "s"}\n`);
    }
  }
  return results.some((r) => r.diagnostics.length > 0) ? ExitCode.SpecError : ExitCode.Ok;
}
