/**
 * fentry/FUNCTION and fexit/FUNCTION: BPF trampolines on a function the kernel's BTF
 * describes; arguments (and fexit's return value) typed from its prototype.
 */
import type { FuncSignature } from "../../kernel/btf/index.js";
import { didYouMean } from "../suggest.js";
import { noBtf, type AttachContext, type AttachKind } from "./kind.js";

export interface FentryPoint {
  kind: "fentry" | "fexit";
  function: string;
  proto: FuncSignature;
}

function resolveFunction(kind: FentryPoint["kind"], func: string, ctx: AttachContext): FentryPoint | undefined {
  const btf = ctx.btf();
  if (!btf) return noBtf(kind, ctx);
  const proto = btf.funcProto(func);
  if (!proto) {
    return ctx.fail("unknown-function", `the kernel's BTF has no function '${func}' to attach ${kind} to.${didYouMean(func, btf.names("func"))}`,
      "list them with: probegen list fentry PATTERN");
  }
  return { kind, function: func, proto };
}

const common = {
  targetNoun: "function in the kernel's BTF",
  candidates: (ctx: AttachContext) => {
    const btf = ctx.btf();
    return btf ? btf.names("func") : noBtf("fentry and fexit", ctx);
  },
  section: (p: FentryPoint) => `${p.kind}/${p.function}`,
  title: (p: FentryPoint) => `${p.kind} ${p.function}`,
  owner: (p: FentryPoint) => `an ${p.kind}`,
  // Tracing programs receive their arguments as an array of u64.
  arguments: (p: FentryPoint) => ({ kind: "args" as const, ctx: "array" as const, limit: p.proto.params.length, proto: p.proto }),
  context: () => ({ type: "__u64" }),
  // The target is the program's BTF attach id, which libbpf sets from the section at open.
  runtime: () => ({ kind: "trace" as const }),
};

export const fentry: AttachKind<FentryPoint> = {
  ...common,
  prefixes: ["fentry"],
  resolve: (func, ctx) => resolveFunction("fentry", func, ctx),
  programName: (p) => `${p.function}_entry`,
  returnValue: () => undefined,
  exitOf: (p) => ({ kind: "fexit", function: p.function, proto: p.proto }),
  exitHint: (p) => `use fexit/${p.function}`,
};

export const fexit: AttachKind<FentryPoint> = {
  ...common,
  prefixes: ["fexit"],
  resolve: (func, ctx) => resolveFunction("fexit", func, ctx),
  programName: (p) => `${p.function}_exit`,
  returnValue: (p) => ({ kind: "array", index: p.proto.params.length, type: p.proto.returnType }),
  isExit: true,
};
