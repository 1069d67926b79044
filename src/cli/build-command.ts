/** `probegen build [--check] [--out-dir DIR] [--json] SPEC...` */
import { buildSpecs, type SpecResult } from "../compiler/build.js";
import { printDiagnostics, useColor } from "./output.js";
import { ExitCode } from "./exit-codes.js";

export interface BuildFlags {
  check: boolean;
  outDir: string;
  json: boolean;
  runtimeImport?: string;
}

export async function buildCommand(specs: string[], flags: BuildFlags): Promise<number> {
  const tty = useColor(process.stderr);
  const results = await buildSpecs(specs, {
    outDir: flags.outDir,
    check: flags.check,
    runtimeImport: flags.runtimeImport,
    onProgress: flags.json ? undefined : ({ spec, state }) => {
      if (state === "start" && process.stderr.isTTY) process.stderr.write(`  building ${spec} ...\r`);
      if (state !== "start" && process.stderr.isTTY) process.stderr.write("\x1b[2K");
    },
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(results.map(summary), null, 2) + "\n");
  } else {
    for (const r of results) report(r, flags.check, tty);
  }
  if (results.some((r) => r.diagnostics.length > 0)) return ExitCode.SpecError;
  if (results.some((r) => r.stale.length > 0)) return ExitCode.Stale;
  return ExitCode.Ok;
}

function summary(r: SpecResult) {
  return { spec: r.spec, ok: r.diagnostics.length === 0 && r.stale.length === 0, files: r.files.map((f) => f.path), stale: r.stale, diagnostics: r.diagnostics };
}

function report(r: SpecResult, check: boolean, color: boolean): void {
  const green = (s: string) => (color ? `\x1b[32m${s}\x1b[39m` : s);
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[39m` : s);
  if (r.diagnostics.length > 0) {
    printDiagnostics(r.diagnostics);
    process.stderr.write(`${red("✗")} ${r.spec}: ${r.diagnostics.length} error${r.diagnostics.length === 1 ? "" : "s"}\n`);
  } else if (check && r.stale.length > 0) {
    process.stderr.write(`${red("✗")} ${r.spec}: stale: ${r.stale.join(", ")}\n  run: probegen build ${r.spec}\n`);
  } else {
    process.stderr.write(`${green("✓")} ${r.spec}${check ? " up to date" : ` → ${r.files.map((f) => f.path).join(", ")}`}\n`);
  }
}
