// Stack addresses to function names (kernel and user) for profiles and flame graphs.
export { Symbolizer } from "./symbolizer.js";
export type { Frame, SymbolizerOptions, SymbolizerStats } from "./symbolizer.js";
export { KernelSymbolTable } from "./kallsyms.js";
export type { KernelSymbol } from "./kallsyms.js";
export { parseMaps } from "./proc-maps.js";
export type { Mapping } from "./proc-maps.js";
