/**
 * The kernel lets only programs under a GPL-compatible licence call GPL-only helpers, and says so
 * at load, after the build. This checks the same rule on the generated C, before clang.
 */
import { error, type Diagnostic, type SourceSpan } from "./diagnostics.js";

/** The licence strings the kernel takes as GPL-compatible (include/linux/license.h). */
const GPL_COMPATIBLE = new Set(["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"]);

/**
 * Helpers (and the CO-RE macros built on them) that the kernel marks gpl_only, among those the
 * generated C can call.
 */
const GPL_ONLY = /\b(bpf_probe_read(?:_user|_kernel)?(?:_str)?|bpf_get_current_task(?:_btf)?|bpf_get_stack(?:id)?|bpf_perf_event_output|bpf_trace_printk|bpf_send_signal(?:_thread)?|bpf_copy_from_user|bpf_d_path|bpf_get_func_ip|BPF_CORE_READ\w*)\s*\(/g;

export function isGplCompatible(license: string): boolean {
  return GPL_COMPATIBLE.has(license);
}

/** The GPL-only helpers the C calls, each once, in order of first use. */
export function gplOnlyHelpers(cText: string): string[] {
  return [...new Set([...cText.matchAll(GPL_ONLY)].map((m) => m[1]!.startsWith("BPF_CORE_READ") ? "bpf_probe_read_kernel" : m[1]!))];
}

/** A located error when a licence that is not GPL-compatible meets GPL-only helpers. */
export function licenseProblem(license: string, cText: string, span: SourceSpan): Diagnostic | undefined {
  if (isGplCompatible(license)) return undefined;
  const helpers = gplOnlyHelpers(cText);
  if (!helpers.length) return undefined;
  return error("license", `license '${license}' is not GPL-compatible, and this probe needs GPL-only helpers (${helpers.join(", ")}); the kernel would refuse to load it`,
    span, `use a GPL-compatible licence: ${[...GPL_COMPATIBLE].map((l) => `'${l}'`).join(", ")}`);
}
