/**
 * What the compiler reads from a kernel: tracepoint formats (tracefs), function symbols
 * (kallsyms) and types (BTF). Each is read on first use; undefined when this kernel has none.
 */
import type { Btf } from "./btf/index.js";
import type { KernelSymbols } from "./kallsyms.js";
import type { Tracefs } from "./tracefs.js";

export { Btf } from "./btf/index.js";
export { KernelSymbols } from "./kallsyms.js";
export { defaultFieldType, Tracefs, type TracepointField } from "./tracefs.js";

export interface KernelInfo {
  tracefs(): Tracefs | undefined;
  symbols(): KernelSymbols | undefined;
  /** The kernel's types (BTF), for CO-RE paths, typed arguments and fentry/fexit/tp_btf. */
  btf?(): Btf | undefined;
  /**
   * tracefs and BTF are the running kernel's own (no --btf), so they agree: a tracepoint's
   * format needs no check against BTF, and a tracepoint spec reads no BTF at all.
   */
  sameKernel?: boolean;
  /**
   * Names this kernel for the build manifest (cache.ts): what the readers above would read
   * from, and which boot of which kernel. A KernelInfo without one is never served from a
   * manifest, only from the content-hash cache.
   */
  identity?(): string;
}
