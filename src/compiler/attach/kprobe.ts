/**
 * kprobe/FUNCTION and kretprobe/FUNCTION: any kernel function in kallsyms, arguments from
 * registers (named and typed when BTF has the prototype), the return value from PT_REGS_RC.
 */
import type { FuncSignature } from "../../kernel/btf/index.js";
import { didYouMean } from "../suggest.js";
import type { AttachContext, AttachKind } from "./kind.js";

export interface KprobePoint {
  kind: "kprobe" | "kretprobe";
  function: string;
  /** The function's prototype from BTF, when the kernel has it (arguments by name). */
  proto?: FuncSignature;
}

// libbpf 1.1 reads five argument registers (PT_REGS_PARM1..5).
export const MAX_KPROBE_ARGS = 5;

function resolveFunction(kind: KprobePoint["kind"], func: string, ctx: AttachContext): KprobePoint | undefined {
  const symbols = ctx.symbols();
  if (symbols && !symbols.has(func)) {
    return ctx.fail("unknown-function", `the kernel has no function '${func}' to attach a ${kind} to.${didYouMean(func, symbols.names())}`,
      "check the name in /proc/kallsyms; static or inlined functions cannot be probed");
  }
  // With BTF, arguments can be named; without it they stay arg0..arg4.
  return { kind, function: func, proto: ctx.btf()?.funcProto(func) };
}

/** kallsyms' text symbols: what a kprobe may attach to. */
function kernelFunctions(ctx: AttachContext): Iterable<string> | undefined {
  return ctx.symbols()?.names() ?? ctx.fail("no-kallsyms", "the kernel's functions cannot be listed: /proc/kallsyms shows no addresses", "run as root");
}

const common = {
  targetNoun: "kernel function",
  candidates: kernelFunctions,
  section: (p: KprobePoint) => `${p.kind}/${p.function}`,
  title: (p: KprobePoint) => `${p.kind} ${p.function}`,
  owner: (p: KprobePoint) => `a ${p.kind}`,
  context: () => ({ type: "struct pt_regs", ptRegs: true }),
  runtime: (p: KprobePoint) => ({ kind: "kprobe" as const, function: p.function, retprobe: p.kind === "kretprobe" }),
};

export const kprobe: AttachKind<KprobePoint> = {
  ...common,
  prefixes: ["kprobe"],
  resolve: (func, ctx) => resolveFunction("kprobe", func, ctx),
  programName: (p) => p.function,
  arguments: (p) => ({ kind: "args", ctx: "regs", limit: MAX_KPROBE_ARGS, proto: p.proto }),
  returnValue: () => undefined,
  exitOf: (p) => ({ kind: "kretprobe", function: p.function, proto: p.proto }),
  exitHint: (p) => `use kretprobe/${p.function}`,
  unknownNameHint(_, name, inPair) {
    if (name === "retval" && !inPair) return "the return value is seen at exit: add 'exit: true' to pair this kprobe with its kretprobe";
    if (/^arg[5-9]$/.test(name)) return `libbpf reads ${MAX_KPROBE_ARGS} argument registers: arg0 to arg${MAX_KPROBE_ARGS - 1}`;
    return undefined;
  },
};

export const kretprobe: AttachKind<KprobePoint> = {
  ...common,
  prefixes: ["kretprobe"],
  resolve: (func, ctx) => resolveFunction("kretprobe", func, ctx),
  programName: (p) => `${p.function}_ret`,
  arguments: () => ({ kind: "none" }),
  returnValue: () => ({ kind: "register" }),
  isExit: true,
  unknownNameHint(_, name, inPair) {
    if (!inPair && /^arg[0-9]$/.test(name)) return "a kretprobe sees only the return value: pair it with its kprobe (attach: kprobe/FUNC, exit: true) to use arguments";
    return undefined;
  },
};
