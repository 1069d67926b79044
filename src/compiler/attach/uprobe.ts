/**
 * uprobe/PATH:SYMBOL[+OFFSET] and uretprobe/PATH:SYMBOL: a function in a program or shared
 * library. PATH is a path, a library by name (`libc`) or a program on PATH (`bash`); the
 * symbol is checked in the file's symbol tables here, and found again at load in the file then
 * installed. Arguments come from registers by position (arg0..arg5, untyped: `type:` says what
 * they are), the return value from PT_REGS_RC.
 */
import { ElfError, ElfFile } from "../../elf/elf-file.js";
import { findFunction, functionNames } from "../../elf/functions.js";
import { locateBinary } from "../../elf/locate.js";
import { noteLocated } from "../inputs.js";
import { isGlob } from "./glob.js";
import { didYouMean } from "../suggest.js";
import type { AttachContext, AttachKind } from "./kind.js";

export interface UprobePoint {
  kind: "uprobe" | "uretprobe";
  /** The file as the spec names it: a path, a library or a program name. */
  path: string;
  /** What the runtime finds again at load: a library or program name as written, a path made absolute. */
  target: string;
  symbol: string;
  /** Bytes after the symbol's start (uprobe only). */
  offset: number;
}

// The x86-64 calling convention passes six integer arguments in registers (arm64 eight).
export const MAX_UPROBE_ARGS = 6;

/**
 * What a file name may hold: the schema's set, checked again for texts that do not come from a
 * spec (`probegen list`). It reaches the C section name and the loader as written.
 */
const PATH_CHARS = /^[A-Za-z0-9_./+@~-]+$/;
const SYMBOL_CHARS = /^[A-Za-z_.$][A-Za-z0-9_.@$]*$/;

const FORM = "write uprobe/PATH:SYMBOL, e.g. uprobe/libc:malloc, uprobe/bash:readline or uprobe/./app:handle_request+0x10";

/** PATH:SYMBOL[+OFFSET] split, or the problem reported. */
function splitTarget(kind: UprobePoint["kind"], target: string, ctx: AttachContext): { path: string; symbol: string; offset?: string } | undefined {
  const colon = target.indexOf(":");
  if (colon < 0) return ctx.fail("invalid-attach", `'${kind}/${target}' names no function: a ${kind} is a file and a function in it`, FORM);
  const path = target.slice(0, colon);
  const rest = target.slice(colon + 1);
  if (rest.includes(":")) {
    return ctx.fail("invalid-attach", `'${kind}/${target}' has more than one ':': probegen splits PATH:SYMBOL at the first, so a path may not contain ':'`,
      "link the file from a path without ':' (ln -s 'my:app' /tmp/my-app) and probe that path");
  }
  if (!PATH_CHARS.test(path)) {
    return ctx.fail("invalid-attach", `'${path}' is not a file probegen can name: a path here uses letters, digits and _ . / + @ ~ -`,
      path === "" ? FORM : "link the file from a plainer path (ln -s) and probe that path");
  }
  const plus = rest.indexOf("+");
  const symbol = plus < 0 ? rest : rest.slice(0, plus);
  if (!SYMBOL_CHARS.test(symbol)) return ctx.fail("invalid-attach", `'${symbol}' is not a symbol name`, FORM);
  return { path, symbol, ...(plus < 0 ? {} : { offset: rest.slice(plus + 1) }) };
}

/** The file PATH names, opened; the problem reported (with where it looked) when there is none. */
function openFile(path: string, ctx: AttachContext): { file: ElfFile; target: string } | undefined {
  const located = locateBinary(path, { cwd: ctx.specDir?.() });
  if ("error" in located) {
    const near = didYouMean(path, located.near);
    return ctx.fail("unknown-file", `${located.error} (looked in ${located.tried}).${near}`,
      "give a path (/usr/bin/app, ./app: relative to the spec), a library by name (libc, libssl.so.3) or a program on PATH (bash)");
  }
  noteLocated(located);
  try {
    return { file: ElfFile.open(located.path), target: path.includes("/") ? located.path : path };
  } catch (e) {
    if (e instanceof ElfError) return ctx.fail("invalid-file", `${path} (${located.path}) cannot be probed: ${e.message}`, "a uprobe attaches to a 64-bit ELF program or shared library");
    throw e;
  }
}

function parseOffset(text: string): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function resolveUprobe(kind: UprobePoint["kind"], text: string, ctx: AttachContext): UprobePoint | undefined {
  const parts = splitTarget(kind, text, ctx);
  if (!parts) return undefined;
  const { path, symbol } = parts;
  let offset = 0;
  if (parts.offset !== undefined) {
    if (kind === "uretprobe") return ctx.fail("invalid-attach", `a uretprobe fires when '${symbol}' returns, wherever that is: it takes no +OFFSET`, `write uretprobe/${path}:${symbol}`);
    const parsed = parseOffset(parts.offset);
    if (parsed === undefined) return ctx.fail("invalid-attach", `'+${parts.offset}' is not an offset`, "write bytes after the symbol's start in decimal or hex: +16, +0x10");
    offset = parsed;
  }
  const opened = openFile(path, ctx);
  if (!opened) return undefined;
  const { file, target } = opened;
  try {
    const lookup = findFunction(file, symbol);
    if ("missing" in lookup) {
      switch (lookup.missing) {
        case "ifunc":
          return ctx.fail("unknown-function", `'${symbol}' in ${file.path} is an indirect function (IFUNC): its symbol is the resolver that picks an implementation once, not the code calls reach`,
            "probe the implementation it picks, if the file names it (nm -D), or a function that calls it");
        case "unmapped":
          return ctx.fail("unknown-function", `'${symbol}' in ${file.path} lies outside the parts of the file a process maps`, "probe another function");
        case "no-symbol": {
          const names = functionNames(file);
          if (names.length === 0) {
            return ctx.fail("unknown-function", `${file.path} has no function symbols: it is stripped of them`, "probe a build that keeps its symbols (or its exported functions in .dynsym)");
          }
          return ctx.fail("unknown-function", `${file.path} has no function '${symbol}'.${didYouMean(symbol, names)}`,
            `list its functions with: probegen list '${kind}/${path}:PATTERN' (static functions of a stripped file cannot be named)`);
        }
      }
    }
    const size = Number(lookup.found.symbol.size);
    if (offset > 0 && offset >= size) {
      return ctx.fail("invalid-offset", size === 0
        ? `'${symbol}' has no size in ${file.path}'s symbols, so +${parts.offset} cannot be checked to lie inside it`
        : `+${parts.offset} is outside '${symbol}', which is ${size} bytes long (offsets 0 to ${size - 1})`,
        "give the offset of an instruction inside the function (objdump -d shows them)");
    }
    return { kind, path, target, symbol, offset };
  } finally {
    file.close();
  }
}

/** The functions of the file a glob's PATH names, as PATH:NAME. */
function fileFunctions(kind: UprobePoint["kind"], pattern: string | undefined, ctx: AttachContext): Iterable<string> | undefined {
  const colon = pattern?.indexOf(":") ?? -1;
  const path = pattern?.slice(0, colon);
  if (pattern === undefined || colon < 0 || !path || isGlob(path)) {
    return ctx.fail("invalid-attach", `a ${kind} pattern matches the functions of one file: ${kind}/PATH:PATTERN`, `e.g. ${kind}/libc:mall*`);
  }
  if (!PATH_CHARS.test(path)) {
    splitTarget(kind, pattern, ctx); // reports the path
    return undefined;
  }
  const opened = openFile(path, ctx);
  if (!opened) return undefined;
  try {
    return functionNames(opened.file).map((name) => `${path}:${name}`);
  } finally {
    opened.file.close();
  }
}

const common = {
  targetNoun: "function",
  section: (p: UprobePoint) => `${p.kind}/${p.path}:${p.symbol}${p.offset ? `+0x${p.offset.toString(16)}` : ""}`,
  title: (p: UprobePoint) => `${p.kind} ${p.symbol}${p.offset ? `+0x${p.offset.toString(16)}` : ""} in ${p.path}`,
  owner: (p: UprobePoint) => `a ${p.kind}`,
  context: () => ({ type: "struct pt_regs", ptRegs: true }),
  runtime: (p: UprobePoint) => ({ kind: "uprobe" as const, path: p.target, symbol: p.symbol, offset: p.offset, retprobe: p.kind === "uretprobe" }),
};

export const uprobe: AttachKind<UprobePoint> = {
  ...common,
  prefixes: ["uprobe"],
  candidates: (ctx, pattern) => fileFunctions("uprobe", pattern, ctx),
  resolve: (target, ctx) => resolveUprobe("uprobe", target, ctx),
  programName: (p) => (p.offset ? `${p.symbol}_${p.offset}` : p.symbol),
  arguments: () => ({ kind: "args", ctx: "regs", limit: MAX_UPROBE_ARGS }),
  returnValue: () => undefined,
  exitOf: (p) => ({ ...p, kind: "uretprobe", offset: 0 }),
  exitHint: (p) => `use uretprobe/${p.path}:${p.symbol}`,
  unknownNameHint(_, name, inPair) {
    if (name === "retval" && !inPair) return "the return value is seen at exit: add 'exit: true' to pair this uprobe with its uretprobe";
    if (/^arg([6-9]|[1-9][0-9])$/.test(name)) return `arguments are read from the ${MAX_UPROBE_ARGS} argument registers: arg0 to arg${MAX_UPROBE_ARGS - 1}`;
    return undefined;
  },
};

export const uretprobe: AttachKind<UprobePoint> = {
  ...common,
  prefixes: ["uretprobe"],
  candidates: (ctx, pattern) => fileFunctions("uretprobe", pattern, ctx),
  resolve: (target, ctx) => resolveUprobe("uretprobe", target, ctx),
  programName: (p) => `${p.symbol}_ret`,
  arguments: () => ({ kind: "none" }),
  returnValue: () => ({ kind: "register" }),
  isExit: true,
  unknownNameHint(p, name, inPair) {
    if (!inPair && /^arg[0-9]+$/.test(name)) return `a uretprobe sees only the return value: pair it with its uprobe (attach: uprobe/${p.path}:${p.symbol}, exit: true) to use arguments`;
    return undefined;
  },
};
