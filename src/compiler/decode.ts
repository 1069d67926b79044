/**
 * Decoders: how the TS side shows a captured number to a person. Decided at build time, from the
 * kernel's own data where it has it: a tracepoint's `__print_symbolic`/`__print_flags` tables,
 * the syscall numbers of the build machine's kernel headers, errno and signal numbers.
 * Everything here is table-driven: a symbolic decoder is any build-time number -> name table.
 * The C side never changes: decoding happens when the loader reads an event or a map entry.
 */
import { constants as osConstants } from "node:os";
import { existsSync, readFileSync } from "node:fs";
import { noteFile } from "./inputs.js";
import type { PrintedTable } from "../kernel/print-fmt.js";
import type { EnumValues } from "./btf-values.js";
import { evaluate } from "../kernel/print-fmt.js";
import { isKeyed, type IrProbe, type ValueSource } from "./ir.js";
import { pascalCase } from "./names.js";
import { sizeOf, typeName, type ScalarOrString } from "./types.js";
import { packetDecoder } from "./packet.js";

/** A number -> name table known at build time. */
export interface SymbolTable {
  /** The loader's exported const and type of the names, e.g. `Newstate`, `Syscall`. */
  tsName: string;
  /** Where the names come from, for the loader's doc comment. */
  origin: string;
  /**
   * In the order they are tried. A flags entry matches when `(v & mask) === value` (mask defaults
   * to value): `O_WRONLY` is `{ value: 1, mask: 3 }`, one choice of the access mode.
   */
  entries: Array<{ value: bigint; name: string; mask?: bigint }>;
}

export type IrDecoder =
  /** One name per value (`TCP_ESTABLISHED`); a value the table lacks stays a number. */
  | { kind: "symbolic"; table: SymbolTable }
  /** Names joined by `|` (`O_WRONLY|O_CREAT`); bits the table lacks are shown in hex. */
  | { kind: "flags"; table: SymbolTable }
  /** Strings computed at run time. */
  | { kind: "ksym" | "ipv4" | "ipv6" | "inet_addr" | "port" }
  /** A `Date` from nanoseconds of the clock the value was read from. */
  | { kind: "wallclock"; clock: "monotonic" | "boottime" };

/** What a spec may ask for with `decode:`. */
export const DECODER_NAMES = ["symbolic", "flags", "errno", "open_flags", "signal", "syscall", "ksym", "ipv4", "ipv6", "inet_addr", "port", "wallclock", "none"] as const;
export type DecoderName = (typeof DECODER_NAMES)[number];

/** The decoder a value gets without asking: the kernel's print fmt names, syscall ids. */
export function automaticDecoder(source: ValueSource, type: ScalarOrString): IrDecoder | undefined {
  if (source.kind === "packet") {
    // Addresses as text, unless read as another type.
    const address = packetDecoder(source);
    const bytes = type.kind === "int" ? type.size : type.kind === "array" ? sizeOf(type) : 0;
    return address && bytes === (address === "ipv4" ? 4 : 16) ? { kind: address } : undefined;
  }
  const inner = source.kind === "stashed" ? source.inner : source;
  // A context field's own (an address), unless `type:` reads it as something else.
  if (inner.kind === "context" && inner.field.decode) return typeName(type) === typeName(inner.field.type) ? { kind: inner.field.decode } : undefined;
  if (type.kind !== "int") return undefined;
  if ((inner.kind === "kprobe-arg" || inner.kind === "path") && inner.enum) return enumDecoder(inner.enum, inner);
  if (inner.kind !== "tracepoint-field") return undefined;
  const printed = inner.field.printed;
  if (printed) return printedDecoder(printed, inner.field.name);
  if (inner.field.syscallNumber) return syscallDecoder();
  return undefined;
}

/**
 * A decoder from any build-time number -> name table: what every symbolic decoder here is, and
 * how another source of names plugs in (the attach points a glob matched, for its `probe` builtin).
 */
export function symbolicDecoder(tsName: string, origin: string, entries: SymbolTable["entries"]): IrDecoder {
  return { kind: "symbolic", table: { tsName, origin, entries } };
}

/** An enum-typed argument or member: its names, under the enum's name (`enum rw_hint` -> `RwHint`). */
function enumDecoder(e: EnumValues, source: ValueSource): IrDecoder {
  const fallback = source.kind === "path" ? source.steps.at(-1)?.name ?? "value" : `arg${source.kind === "kprobe-arg" ? source.index : ""}`;
  const tsName = pascalCase(e.name || fallback);
  return symbolicDecoder(tsName, e.name ? `enum ${e.name} (the kernel's BTF)` : "an anonymous enum (the kernel's BTF)", e.values);
}

function printedDecoder(printed: PrintedTable, fieldName: string): IrDecoder {
  // `oldstate` and `newstate` print with one table: call it `State`.
  const tsName = pascalCase(fieldName.replace(/^(old|new|prev|next)_?(?=[a-z])/, ""));
  const table: SymbolTable = { tsName, origin: `the tracepoint's print fmt (__print_${printed.kind})`, entries: printed.entries };
  return printed.kind === "symbolic" ? { kind: "symbolic", table } : { kind: "flags", table };
}

/**
 * The decoder `decode: NAME` asks for, checked against the value's type; a string saying what
 * is wrong otherwise. `automatic` is what the value would get unasked (for `symbolic`/`flags`).
 */
export function requestedDecoder(name: DecoderName, source: ValueSource | undefined, type: ScalarOrString, automatic: IrDecoder | undefined): IrDecoder | string | undefined {
  const what = typeName(type);
  const int = type.kind === "int";
  switch (name) {
    case "none": return undefined;
    case "symbolic": case "flags":
      if (automatic?.kind !== name) return `'${name}' decodes with the tracepoint's own __print_${name} table, and this value has none`;
      return automatic;
    case "errno": case "signal": case "syscall":
      if (!int) return `'${name}' decodes an integer, and this is ${what}`;
      return { kind: "symbolic", table: name === "errno" ? errnoTable() : name === "signal" ? signalTable() : syscallTable() };
    case "open_flags":
      if (!int) return `'open_flags' decodes an integer, and this is ${what}`;
      return { kind: "flags", table: openFlagsTable() };
    case "ksym":
      if (!int || type.size !== 8) return `'ksym' decodes a kernel address (u64), and this is ${what}`;
      return { kind: "ksym" };
    case "port":
      if (!int || type.size !== 2) return `'port' decodes a 16-bit port in network byte order (u16), and this is ${what}`;
      return { kind: "port" };
    case "wallclock": {
      if (!int || type.size !== 8) return `'wallclock' decodes nanoseconds since boot (u64, ktime or boot_ns), and this is ${what}`;
      const inner = source?.kind === "stashed" ? source.inner : source;
      return { kind: "wallclock", clock: inner?.kind === "builtin" && inner.name === "boot_ns" ? "boottime" : "monotonic" };
    }
    case "ipv4": case "ipv6": case "inet_addr": {
      const bytes = type.kind === "array" ? type.element.size * type.length : int ? type.size : 0;
      const fits = name === "ipv4" ? bytes === 4 : name === "ipv6" ? bytes === 16 : bytes === 4 || bytes === 16;
      if (!fits) return `'${name}' decodes ${name === "ipv4" ? "4 bytes (u8[4] or u32)" : name === "ipv6" ? "16 bytes (u8[16])" : "4 or 16 bytes (u8[4], u32, u8[16])"} in network byte order, and this is ${what}`;
      return { kind: name };
    }
  }
}

/** The TS type a decoded value has; undefined when the decoder keeps the value's own type. */
export function decodedTsType(d: IrDecoder, numberType: string): string {
  switch (d.kind) {
    case "symbolic": return `${d.table.tsName} | ${numberType}`;
    case "flags": case "ksym": case "ipv4": case "ipv6": case "inet_addr": return "string";
    case "port": return "number";
    case "wallclock": return "Date";
  }
}

/** Whether two decoders show values the same way (map keys filled from several places agree). */
export function sameDecoder(a: IrDecoder | undefined, b: IrDecoder | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if ((a.kind === "symbolic" || a.kind === "flags") && (b.kind === "symbolic" || b.kind === "flags")) return tableKey(a.table) === tableKey(b.table);
  if (a.kind === "wallclock" && b.kind === "wallclock") return a.clock === b.clock;
  return true;
}

function tableKey(t: SymbolTable): string {
  return t.entries.map((e) => `${e.value}/${e.mask ?? ""}=${e.name}`).join(",");
}

// ---- build-time tables ---------------------------------------------------------------------------

let errnos: SymbolTable | undefined;
let signals: SymbolTable | undefined;
let syscalls: SymbolTable | undefined;
let openFlags: SymbolTable | undefined;

/** errno names, from Node's os.constants.errno (the platform's <errno.h>: Linux's own numbers). */
export function errnoTable(): SymbolTable {
  return (errnos ??= { tsName: "Errno", origin: "errno numbers (<errno.h>)", entries: firstNamePerValue(osConstants.errno) });
}

/** Signal names, from Node's os.constants.signals. */
export function signalTable(): SymbolTable {
  return (signals ??= { tsName: "Signal", origin: "signal numbers (<signal.h>)", entries: firstNamePerValue(osConstants.signals) });
}

/** Aliases (EWOULDBLOCK = EAGAIN, SIGIOT = SIGABRT) keep the name listed first. */
function firstNamePerValue(constants: Record<string, number>): SymbolTable["entries"] {
  const seen = new Set<number>();
  return Object.entries(constants).filter(([, v]) => !seen.has(v) && seen.add(v)).map(([name, v]) => ({ value: BigInt(v), name }));
}

/** Where the build machine's kernel headers (linux-libc-dev) keep the syscall numbers. */
export function syscallHeader(arch: string = process.arch): string | undefined {
  const candidates = arch === "x64" ? ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"]
    : arch === "arm64" ? ["/usr/include/aarch64-linux-gnu/asm/unistd_64.h", "/usr/include/asm-generic/unistd.h"]
    : [];
  return firstExisting(candidates);
}

/** The first of `paths` that exists; the ones before it are noted as looked for (inputs.ts). */
function firstExisting(paths: string[]): string | undefined {
  for (const path of paths) {
    noteFile(path);
    if (existsSync(path)) return path;
  }
  return undefined;
}

function syscallDecoder(): IrDecoder | undefined {
  return syscallHeader() ? { kind: "symbolic", table: syscallTable() } : undefined;
}

/**
 * Syscall names by number for the build machine's architecture, from its kernel headers
 * (x86_64: asm/unistd_64.h; arm64: asm-generic/unistd.h). The kernel itself keeps no
 * number -> name table a program can read (sys_call_table holds addresses only; tracefs
 * formats have no number), and these headers are generated from the same syscall tables.
 */
export function syscallTable(): SymbolTable {
  const header = syscallHeader();
  if (header) noteFile(header);
  if (syscalls) return syscalls;
  if (!header) throw new Error(`no syscall numbers for ${process.arch}: install the kernel headers (linux-libc-dev)`);
  return (syscalls = { tsName: "Syscall", origin: `syscall numbers of ${process.arch} (${header})`, entries: parseSyscallHeader(readFileSync(header, "utf8")) });
}

/** `#define __NR_openat 257`, or through other macros (`__NR3264_fcntl`, `__NR_arch_specific_syscall + 0`). */
export function parseSyscallHeader(text: string): SymbolTable["entries"] {
  const defines = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(__NR\w+)\s+(.+?)\s*(?:\/\*.*)?$/gm)) {
    // The first definition is the 64-bit one in asm-generic/unistd.h.
    if (!defines.has(m[1]!)) defines.set(m[1]!, m[2]!);
  }
  const value = (name: string, depth = 0): bigint | undefined => {
    const text = defines.get(name);
    if (text === undefined || depth > 8) return undefined;
    return evaluate(text.replace(/__NR\w+/g, (ref) => String(value(ref, depth + 1) ?? "?")));
  };
  const seen = new Set<bigint>();
  const entries: SymbolTable["entries"] = [];
  for (const name of defines.keys()) {
    if (!name.startsWith("__NR_") || name === "__NR_syscalls" || name === "__NR_arch_specific_syscall") continue;
    const v = value(name);
    if (v === undefined || seen.has(v)) continue;
    seen.add(v);
    entries.push({ value: v, name: name.slice("__NR_".length) });
  }
  return entries.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/**
 * open(2) flags, from the kernel headers' asm-generic/fcntl.h (and the architecture's own
 * asm/fcntl.h where it differs): the access mode is one of three values of the low two bits.
 */
export function openFlagsTable(): SymbolTable {
  const generic = "/usr/include/asm-generic/fcntl.h";
  const arch = firstExisting(["/usr/include/x86_64-linux-gnu/asm/fcntl.h", "/usr/include/aarch64-linux-gnu/asm/fcntl.h", "/usr/include/asm/fcntl.h"]);
  noteFile(generic);
  if (openFlags) return openFlags;
  if (!existsSync(generic)) throw new Error("no open flags: install the kernel headers (linux-libc-dev)");
  return (openFlags = { tsName: "OpenFlags", origin: "open(2) flags of the kernel headers (asm-generic/fcntl.h)", entries: parseOpenFlags(readFileSync(generic, "utf8"), arch ? readFileSync(arch, "utf8") : "") });
}

export function parseOpenFlags(generic: string, arch: string): SymbolTable["entries"] {
  const defines = new Map<string, string>();
  // The architecture's header is included first and the generic one defines only what is missing.
  for (const text of [arch, generic]) {
    for (const m of text.matchAll(/^#define\s+(_*O_\w+)\s+(.+?)\s*(?:\/\*.*)?$/gm)) {
      if (!defines.has(m[1]!)) defines.set(m[1]!, m[2]!);
    }
  }
  const value = (name: string, depth = 0): bigint | undefined => {
    const text = defines.get(name);
    if (text === undefined || depth > 8) return undefined;
    return evaluate(text.replace(/_*O_\w+/g, (ref) => String(value(ref, depth + 1) ?? "?")));
  };
  const mode = value("O_ACCMODE") ?? 3n;
  const entries: SymbolTable["entries"] = ["O_RDONLY", "O_WRONLY", "O_RDWR"].flatMap((name) => {
    const v = value(name);
    return v === undefined ? [] : [{ value: v, name, mask: mode }];
  });
  // O_TMPFILE includes O_DIRECTORY's bit, and O_SYNC O_DSYNC's: the wider ones are tried first.
  const single = [...defines.keys()].filter((n) => n.startsWith("O_") && !["O_ACCMODE", "O_RDONLY", "O_WRONLY", "O_RDWR", "O_NDELAY", "O_FSYNC", "O_RSYNC"].includes(n));
  const flags = single.flatMap((name) => {
    const v = value(name);
    return v === undefined || v === 0n ? [] : [{ value: v, name }];
  });
  const bits = (v: bigint) => v.toString(2).replace(/0/g, "").length;
  flags.sort((a, b) => bits(b.value) - bits(a.value));
  const seen = new Set<bigint>();
  return [...entries, ...flags.filter((f) => !seen.has(f.value) && seen.add(f.value))];
}

/** Every decoder a probe's loader uses: its events' fields and its maps' keys and values. */
export function decodersOf(probe: IrProbe): IrDecoder[] {
  const maps = probe.maps.filter(isKeyed).filter((m) => !m.internal).flatMap((m) => [m.key, m.value])
    .flatMap((t) => (t.kind === "scalar" ? [t.decode] : t.kind === "struct" ? t.struct.members.map((x) => x.decode) : []));
  return [...probe.events.flatMap((e) => e.fields.map((f) => f.decode)), ...maps].filter((d): d is IrDecoder => d !== undefined);
}
