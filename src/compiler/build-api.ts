/**
 * The compiler's light entry point: build and check specs through the build cache, and what a
 * caller needs to show the results. It loads neither the front end (yaml, ajv, Handlebars) nor
 * the attach kinds nor the kernel readers: those load when a spec misses the cache, so a
 * command the cache answers starts in tens of milliseconds. compiler/index re-exports all of it.
 */
export { buildSpecs as build, checkSpecs as check, type BuildOptions, type BuiltFile, type CheckOptions, type SpecResult } from "./build.js";
export { BuildCache, defaultCacheDir } from "./cache.js";
export { DiagnosticError, formatDiagnostic, type Diagnostic, type FormatOptions, type Severity, type SourceSpan } from "./diagnostics.js";
export type { DroppingProgram, IrField, IrMap, IrMapType, IrProbe, IrStructMember } from "./ir.js";
export { tsNames } from "./names.js";
export { packageRoot, version } from "./package-info.js";
export { typeName } from "./types.js";
