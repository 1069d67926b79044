/** Runs the front end (parse, validate, resolve) on spec text against a fixture or real kernel. */
import { fileURLToPath } from "node:url";
import { DiagnosticError, type Diagnostic } from "../../src/compiler/diagnostics.js";
import type { IrProbe } from "../../src/compiler/ir.js";
import { Tracefs } from "../../src/kernel/tracefs.js";
import { SpecSource } from "../../src/compiler/parse.js";
import { lowerProbe } from "../../src/compiler/lower.js";
import { resolveProbe, type KernelInfo } from "../../src/compiler/resolve.js";
import { validateSpec } from "../../src/compiler/validate.js";

export const fixtureTracefs = fileURLToPath(new URL("../fixtures/tracefs", import.meta.url));

/** tracefs formats copied from a 6.18 kernel; no kernel symbols (kprobe targets are not checked). */
export const fixtureKernel: KernelInfo = {
  tracefs: () => new Tracefs(fixtureTracefs),
  symbols: () => undefined,
};

export function frontEnd(text: string, file = "probes/test.yaml", kernel = fixtureKernel): { probe?: IrProbe; diagnostics: Diagnostic[] } {
  try {
    const source = SpecSource.parse(file, text);
    return { probe: lowerProbe(resolveProbe(source, validateSpec(source), kernel)), diagnostics: [] };
  } catch (e) {
    if (e instanceof DiagnosticError) return { diagnostics: e.diagnostics };
    throw e;
  }
}

/** "file:line:column: message" lines, the way a user reads them. */
export function located(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.span ? `${d.span.file}:${d.span.line}:${d.span.column}: ` : ""}${d.message}`);
}
