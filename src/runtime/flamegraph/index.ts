// Stack samples as folded text (flamegraph.pl, inferno, speedscope) and as an interactive SVG.
export { EMPTY_STACK, foldedStacks, stackTree } from "./folded.js";
export type { StackNode, StackSample } from "./folded.js";
export { flamegraphSvg } from "./svg.js";
export type { FlamegraphOptions } from "./svg.js";
