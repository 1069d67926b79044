/**
 * raw_tracepoint/NAME (or raw_tp/NAME): a tracepoint's raw arguments, before the tracepoint
 * builds its record. The kernel passes them as a u64 array; the tracepoint's BTF prototype
 * (btf_trace_NAME, with names from __bpf_trace_NAME) types and names them when there is one.
 */
import type { FuncSignature } from "../../kernel/btf/index.js";
import { tracepointNames, tracepointProto } from "../btf-values.js";
import { didYouMean } from "../suggest.js";
import type { AttachContext, AttachKind } from "./kind.js";

export interface RawTracepointPoint {
  kind: "raw_tracepoint";
  name: string;
  proto?: FuncSignature;
}

/** Without a prototype the arguments are arg0..arg11 (MAX_BPF_FUNC_ARGS); reading one the tracepoint lacks fails at attach. */
const MAX_RAW_ARGS = 12;

/** Tracepoint names from BTF and tracefs (without their category); undefined with neither. */
function knownTracepoints(ctx: AttachContext): string[] | undefined {
  const btf = ctx.btf();
  const tracefs = ctx.tracefs();
  if (!btf && !tracefs) return undefined;
  return [...new Set([...(btf ? tracepointNames(btf) : []), ...(tracefs?.allNames().map((n) => n.slice(n.indexOf("/") + 1)) ?? [])])];
}

export const rawTracepoint: AttachKind<RawTracepointPoint> = {
  prefixes: ["raw_tracepoint", "raw_tp"],
  targetNoun: "tracepoint",
  candidates(ctx) {
    const known = knownTracepoints(ctx);
    return known ?? ctx.fail("no-tracefs", "raw tracepoints cannot be listed without the kernel's BTF or tracefs", "mount tracefs, or build on a kernel with /sys/kernel/btf/vmlinux");
  },
  resolve(name, ctx) {
    const btf = ctx.btf();
    const proto = btf && tracepointProto(btf, name);
    if (proto) return { kind: "raw_tracepoint", name, proto };
    // No prototype: the tracepoint must still exist (tracefs lists it as CATEGORY/NAME).
    const known = knownTracepoints(ctx);
    if (!known) return { kind: "raw_tracepoint", name }; // nothing to check it against
    if (!known.includes(name)) {
      return ctx.fail("unknown-tracepoint", `the kernel has no tracepoint '${name}'.${didYouMean(name, known)}`,
        "raw tracepoints are named without their category: list them with: probegen list tracepoints");
    }
    return { kind: "raw_tracepoint", name };
  },
  section: (p) => `raw_tracepoint/${p.name}`,
  title: (p) => `raw_tracepoint ${p.name}`,
  owner: (p) => `raw_tracepoint ${p.name}`,
  programName: (p) => `${p.name}_raw`,
  arguments: (p) => ({ kind: "args", ctx: "array", limit: p.proto ? p.proto.params.length : MAX_RAW_ARGS, proto: p.proto }),
  returnValue: () => undefined,
  context: () => ({ type: "__u64" }),
  runtime: (p) => ({ kind: "raw_tracepoint", name: p.name }),
};
