/**
 * The passes from a spec's text to its outputs, for the specs the build cache cannot answer.
 * build.ts imports this module only then, so a cache hit never loads yaml, ajv or Handlebars.
 */
import { compileC, type CompiledObject } from "./clang.js";
import { DiagnosticError } from "./diagnostics.js";
import { emitC } from "./emit-c.js";
import { emitTs } from "./emit-ts.js";
import { decodersOf } from "./decode.js";
import { recordInputs, type Input } from "./inputs.js";
import type { IrProbe } from "./ir.js";
import type { KernelInfo } from "../kernel/index.js";
import { licenseProblem } from "./license.js";
import { lowerProbe } from "./lower.js";
import { SpecSource } from "./parse.js";
import { resolveProbe } from "./resolve.js";
import { validateSpec } from "./validate.js";

export interface FrontEndResult {
  probe: IrProbe;
  cText: string;
  /** What the loader's decode tables and the attach points took from this machine (for the content key). */
  kernelFacts: unknown;
  /** Every file the passes read (inputs.ts), for the manifest. */
  inputs: Input[];
}

/**
 * Parse, validate, resolve against the kernel, lower, emit C and check its licence. `cPathOf`
 * gives the path the C is known by, from the probe's name. Throws DiagnosticError.
 */
export function frontEnd(spec: { path: string; text: string; dir: string }, kernel: KernelInfo, cPathOf: (name: string) => string): FrontEndResult {
  const { value, inputs } = recordInputs(() => {
    const source = SpecSource.parse(spec.path, spec.text, spec.dir);
    const probe = lowerProbe(resolveProbe(source, validateSpec(source), kernel));
    const cText = emitC(probe, cPathOf(probe.name));
    const license = licenseProblem(probe.license, cText, source.spanOf(["license"]));
    if (license) throw new DiagnosticError([license]);
    // The loader's decode tables come from the machine too (kernel headers: syscall numbers).
    return { probe, cText, kernelFacts: [probe.programs.map((p) => p.attach), decodersOf(probe)] };
  });
  return { ...value, inputs };
}

/** clang, then the TypeScript loader (which embeds the object). */
export async function compileOutputs(probe: IrProbe, c: { path: string; text: string }, spec: { path: string; text: string }, runtimeImport: string): Promise<CompiledObject & { ts: string }> {
  const compiled = await compileC({ cPath: c.path, cText: c.text, specPath: spec.path, specText: spec.text });
  return { ...compiled, ts: await emitTs(probe, { runtimeImport, object: compiled.object }) };
}
