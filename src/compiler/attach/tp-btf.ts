/** tp_btf/NAME: a BTF-typed raw tracepoint, its arguments those of the tracepoint's C function. */
import type { FuncSignature } from "../../kernel/btf/index.js";
import { tracepointNames, tracepointProto } from "../btf-values.js";
import { didYouMean } from "../suggest.js";
import { noBtf, type AttachKind } from "./kind.js";

export interface TpBtfPoint {
  kind: "tp_btf";
  name: string;
  proto: FuncSignature;
}

export const tpBtf: AttachKind<TpBtfPoint> = {
  prefixes: ["tp_btf"],
  targetNoun: "BTF tracepoint",
  candidates(ctx) {
    const btf = ctx.btf();
    return btf ? tracepointNames(btf) : noBtf("tp_btf", ctx);
  },
  resolve(name, ctx) {
    const btf = ctx.btf();
    if (!btf) return noBtf("tp_btf", ctx);
    const proto = tracepointProto(btf, name);
    if (!proto) return ctx.fail("unknown-tracepoint", `the kernel has no BTF tracepoint '${name}'.${didYouMean(name, tracepointNames(btf))}`, "list them with: probegen list tracepoints");
    return { kind: "tp_btf", name, proto };
  },
  section: (p) => `tp_btf/${p.name}`,
  title: (p) => `tp_btf ${p.name}`,
  owner: () => "a tp_btf",
  programName: (p) => `${p.name}_btf`,
  arguments: (p) => ({ kind: "args", ctx: "array", limit: p.proto.params.length, proto: p.proto }),
  returnValue: () => undefined,
  context: () => ({ type: "__u64" }),
  // The target is the program's BTF attach id, which libbpf sets from the section at open.
  runtime: () => ({ kind: "trace" }),
};
