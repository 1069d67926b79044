/**
 * One attach kind (tracepoint, kprobe, fentry, ...): everything the compiler and the runtime
 * need to know about it, in one module. The registry (index.ts) lists the kinds; nothing else
 * in the compiler switches on an attach point's kind.
 */
import type { Btf, FuncSignature } from "../../kernel/btf/index.js";
import type { KernelSymbols } from "../../kernel/kallsyms.js";
import type { TracepointField, TracepointFormat, Tracefs } from "../../kernel/tracefs.js";
import type { AttachTarget } from "../../runtime/object.js";
import type { ArgContext } from "../ir.js";
import type { ArrayType, IntType } from "../types.js";
import type { AttachPoint } from "./index.js";

/** What a kind may ask while it checks a target against the kernel. */
export interface AttachContext {
  tracefs(): Tracefs | undefined;
  symbols(): KernelSymbols | undefined;
  btf(): Btf | undefined;
  /** The BTF to check tracefs formats against: undefined when both are the running kernel's (they agree). */
  crossCheckBtf?(): Btf | undefined;
  /** The maps the spec declares, by name, and their types (sk_msg names its sockmap); absent outside a spec. */
  declaredMaps?(): ReadonlyMap<string, string>;
  /** The directory a relative file path in an attach text starts from (a uprobe's `./app`): the spec's; absent, the working directory. */
  specDir?(): string;
  /** Reports a problem at the attach text; returns undefined so a kind can `return ctx.fail(...)`. */
  fail(code: string, message: string, hint?: string): undefined;
}

/** How a program reads the values its attach point hands it. */
export type Arguments =
  /** A tracepoint's record, field by field. */
  | { kind: "record"; format: TracepointFormat }
  /**
   * A function's arguments, from registers or a u64 array: arg0 .. arg{limit-1}, and by name
   * (typed) when the prototype is known; `types` types them by position (a USDT probe's notes).
   */
  | { kind: "args"; ctx: ArgContext; limit: number; proto?: FuncSignature; types?: readonly IntType[] }
  /** Nothing but the return value (a kretprobe). */
  | { kind: "none" }
  /** Members of the program's context struct, by the names the kind gives them (sk_msg: msg.size, msg.remote_port...). */
  | { kind: "context"; fields: readonly ContextField[] };

/**
 * A value a program reads from its context struct: the C is the kind's own text (never the
 * spec's), already converted to the type and byte order the spec sees.
 */
export type ContextField = {
  /** How specs name it: `msg.remote_port`. */
  name: string;
  /** How TS shows it unless the spec says otherwise (an address as text). */
  decode?: "ipv4" | "ipv6";
  description: string;
} & (
  /** A number: a C expression over `ctx`. */
  | { type: IntType; c: string }
  /** Bytes the context keeps as 32-bit words (an IPv6 address): a C expression for each word, in memory order. */
  | { type: ArrayType; words: string[] }
);

/** Where a program finds the return value of what it traces. */
export type ReturnValue =
  /** PT_REGS_RC: an untyped register. */
  | { kind: "register" }
  /** fexit: after the arguments in the u64 array, of BTF type `type`. */
  | { kind: "array"; index: number; type: number }
  /** A tracepoint field (sys_exit_*'s `ret`): read by name like any field, and as `ret` in a pair. */
  | { kind: "field"; field: TracepointField };

/** A struct the C program's context needs declared (a tracepoint's record). */
export interface ContextStruct {
  cName: string;
  title: string;
  members: Array<{ decl: string }>;
  asserts: string[];
}

/** What the C program receives, and what must be declared above it. */
export interface CContext {
  /** The type `ctx` points to. */
  type: string;
  struct?: ContextStruct;
  /** Reads pt_regs (PT_REGS_*): needs <asm/ptrace.h> and <bpf/bpf_tracing.h>. */
  ptRegs?: boolean;
  /** Converts byte order (bpf_ntohs...): needs <bpf/bpf_endian.h>. */
  endian?: boolean;
  /** Reads USDT arguments (bpf_usdt_arg): needs <bpf/usdt.bpf.h>. */
  usdt?: boolean;
  /** UAPI headers that declare the context type, after the ones above (<linux/bpf_perf_event.h>). */
  headers?: string[];
}

/**
 * What a network program returns: its verdicts by name (`action:` in a spec), as C values.
 * Tracing kinds have none: their programs return 0, which the kernel ignores.
 */
export interface Verdicts {
  /** The verdict that leaves traffic alone: what a program returns when no action applies, its filter fails or a read fails. */
  default: string;
  /** Every verdict a spec may name: its C value, and whether it stops the traffic (a spec that can drop says so). */
  actions: Readonly<Record<string, { c: string; drops: boolean }>>;
}

/**
 * How a network program reaches its packet: where the header walk that packet fields
 * (`ip.saddr`, `tcp.dport`, ...) compile to starts.
 */
export type PacketAccess =
  /** Direct packet access from the Ethernet header, `ctx->data` .. `ctx->data_end` (XDP on xdp_md, tc on __sk_buff). */
  | { kind: "direct"; ctx: "xdp_md" | "__sk_buff" }
  /**
   * Loads relative to the network header (`bpf_skb_load_bytes_relative(..., BPF_HDR_START_NET)`):
   * socket filters and cgroup_skb, which see no Ethernet header; `skb->protocol` says IPv4 or IPv6.
   */
  | { kind: "network-relative" };

export interface AttachKind<P extends { kind: string }> {
  /** How specs write it: the text before the first '/', and its aliases (first one canonical). */
  readonly prefixes: readonly string[];
  /** What its targets are, for "matches no ...": "tracepoint", "kernel function". */
  readonly targetNoun: string;
  /**
   * Every target the kernel offers (in `resolve`'s syntax), for globs: undefined after a
   * failure it reported (no tracefs, no BTF). `pattern` is the glob being matched (the text
   * after "prefix/"): a kind whose targets live in a file it names (a uprobe's functions,
   * usdt/PATH:*) lists those of that file.
   */
  candidates(ctx: AttachContext, pattern?: string): Iterable<string> | undefined;
  /** Parses and checks `target` (the text after "prefix/") against the kernel, with suggestions. */
  resolve(target: string, ctx: AttachContext): P | undefined;
  /** The ELF section (SEC()) of its programs. */
  section(point: P): string;
  /** "tracepoint syscalls/sys_enter_openat": for comments in the C. */
  title(point: P): string;
  /** What a misspelt name "is not a value of": "tracepoint syscalls/sys_enter_openat", "a kprobe". */
  owner(point: P): string;
  /** The default program name, before it is made a unique C identifier. */
  programName(point: P): string;
  /** The names and types its programs can read. */
  arguments(point: P): Arguments;
  /** Its return value, when it sees one. */
  returnValue(point: P): ReturnValue | undefined;
  /** The kernel keeps one program per target (a sockmap's message verdict): a spec may not attach two there. */
  readonly exclusive?: boolean;
  /** Can be the exit half of a pair. */
  readonly isExit?: boolean;
  /** The exit `exit: true` means for this entry: null when there is none, undefined after a failure. */
  exitOf?(entry: P, ctx: AttachContext): AttachPoint | undefined | null;
  /** When this kind is named as an exit but cannot be one: what to write instead. */
  exitHint?(point: P): string | undefined;
  /** A kind's own hint for a name its programs cannot read. */
  unknownNameHint?(point: P, name: string, inPair: boolean): string | undefined;
  /** What the C prologue needs: the context type and declarations. */
  context(point: P): CContext;
  /** How the runtime attaches it: the typed descriptor the generated loader passes. */
  runtime(point: P): AttachTarget;
  /** A network kind's verdicts; undefined for tracing kinds (their programs return 0). */
  verdicts?(point: P): Verdicts;
  /** A network kind's packet: how packet fields read it; undefined for kinds without one. */
  packet?(point: P): PacketAccess;
}

/** The failure of a kind that needs the kernel's BTF on a kernel without it. */
export function noBtf(kind: string, ctx: AttachContext): undefined {
  return ctx.fail("no-btf", `${kind} programs need the kernel's BTF, and there is none`,
    "build on a kernel with /sys/kernel/btf/vmlinux, or give one with --btf FILE");
}
