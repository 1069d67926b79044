/** The BTF reader, member paths and the minimal header emitter (see README.md). */
export { Btf, type BtfOptions, type FuncSignature } from "./btf.js";
export { declaration, type SpellOptions } from "./describe.js";
export { elfSection } from "./elf.js";
export { emitHeader, HeaderBuilder, type HeaderOptions } from "./header.js";
export { arrayCapture, findMember, memberNames, resolvePath, type Capture, type PathError, type PathErrorKind, type PathOptions, type PathResult, type PathStep } from "./path.js";
export * from "./types.js";
