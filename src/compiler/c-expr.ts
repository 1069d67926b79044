/**
 * Prints IR values and filter expressions as C. Every piece of text here comes from the IR:
 * identifiers that passed cIdentifierProblem, numbers, and string literals spelt out as bytes.
 */
import type { ArgContext, IrExpr, IrLookup, LookupRead, ValueSource } from "./ir.js";
import { operandsSigned } from "./constants.js";
import { packetLocal } from "./packet.js";
import { STACK_RECORD } from "../runtime/stack.js";
import { cScalarType, i64, u64, type IntType, type ScalarOrString, type StringListType, type StringType } from "./types.js";

/** How the program refers to the shared helper results computed at its top. */
export const locals = { pidTgid: "pg_pid_tgid", uidGid: "pg_uid_gid", stash: "st", params: "pg_params" } as const;

export function needsPidTgid(s: ValueSource): boolean {
  return s.kind === "builtin" && (s.name === "pid" || s.name === "tid" || s.name === "ustack");
}

export function needsUidGid(s: ValueSource): boolean {
  return s.kind === "builtin" && (s.name === "uid" || s.name === "gid");
}

/** A C expression for a scalar value of `source`, converted to `type`. */
export function scalarValue(source: ValueSource, type: ScalarOrString): string {
  const raw = rawScalar(source);
  // Whether a lookup found its key is 0 or 1 already.
  if (type.kind === "bool") return isZeroOrOne(source) ? raw : `!!(${raw})`;
  if (type.kind !== "int") throw new Error(`scalarValue on a ${type.kind} source`);
  return `(${cScalarType(type)})${raw}`;
}

/** Whether a lookup found its key, whether the packet has a header: 0 or 1 already. */
function isZeroOrOne(source: ValueSource): boolean {
  return (source.kind === "lookup" && source.read.kind === "found") || (source.kind === "packet" && source.read.kind === "has");
}

function rawScalar(source: ValueSource): string {
  switch (source.kind) {
    case "builtin":
      switch (source.name) {
        case "pid": return `(${locals.pidTgid} >> 32)`;
        case "tid": return `${locals.pidTgid}`;
        case "uid": return `${locals.uidGid}`;
        case "gid": return `(${locals.uidGid} >> 32)`;
        case "ktime": return "bpf_ktime_get_ns()";
        case "boot_ns": return "bpf_ktime_get_boot_ns()";
        case "cpu": return "bpf_get_smp_processor_id()";
        case "comm": throw new Error("comm is a string");
        case "kstack":
        case "ustack": throw new Error(`${source.name} is a stack`);
      }
      break;
    case "tracepoint-field": return `ctx->${source.field.name}`;
    case "kprobe-arg": return argValue(source.index, source.ctx);
    case "retval": return source.arrayIndex !== undefined ? `ctx[${source.arrayIndex}]` : "PT_REGS_RC(ctx)";
    case "path": return source.read === "pointer" || source.read === "int" ? coreRead(source) : `(__u64)${coreRead(source)}`;
    case "param": return `${locals.params}.${source.param.name}`;
    case "latency": return `(bpf_ktime_get_ns() - ${locals.stash}->pg_ts)`;
    case "errno": {
      const ret = `(__s64)${rawScalar(source.ret)}`;
      return `(${ret} < 0 ? -${ret} : 0)`;
    }
    case "stashed": return `${locals.stash}->${source.member}`;
    case "probe": return `${source.index}`;
    case "context":
      if (!("c" in source.field)) throw new Error(`${source.field.name} is not a number`);
      return source.field.c;
    case "packet": return packetLocal(source);
    case "lookup": return lookupLocal(source.lookup, source.read);
  }
}

/** The local a program keeps a map lookup's result in (emit-c declares and fills them). */
export function lookupLocal(lookup: IrLookup, read: LookupRead): string {
  switch (read.kind) {
    case "value": return lookup.local;
    case "found": return `${lookup.local}_found`;
    case "member": return `${lookup.local}_${read.member.name}`;
  }
}

/** A statement reading the string of `source` into the char array `dst` of `size` bytes. */
export function readString(source: ValueSource, dst: string, size: number): string {
  switch (source.kind) {
    case "builtin":
      return `bpf_get_current_comm(${dst}, ${size});`;
    case "kprobe-arg": {
      const helper = source.read === "kernel_string" ? "bpf_probe_read_kernel_str" : "bpf_probe_read_user_str";
      return `${helper}(${dst}, ${size}, (const void *)${argValue(source.index, source.ctx)});`;
    }
    case "retval": {
      if (source.read === undefined || source.arrayIndex !== undefined) throw new Error("a return value read as a number is not a string");
      const helper = source.read === "kernel_string" ? "bpf_probe_read_kernel_str" : "bpf_probe_read_user_str";
      return `${helper}(${dst}, ${size}, (const void *)PT_REGS_RC(ctx));`;
    }
    case "path": {
      if (source.read === "char_array") return `BPF_CORE_READ_STR_INTO(&${dst.replace(/^&/, "")}, ${coreArgs(source)});`;
      const helper = source.read === "user_string" ? "bpf_probe_read_user_str" : "bpf_probe_read_kernel_str";
      return `${helper}(${dst}, ${size}, (const void *)${coreRead(source)});`;
    }
    case "tracepoint-field": {
      const f = source.field;
      switch (f.access.kind) {
        case "user_string": return `bpf_probe_read_user_str(${dst}, ${size}, (const void *)ctx->${f.name});`;
        case "kernel_string": return `bpf_probe_read_kernel_str(${dst}, ${size}, (const void *)ctx->${f.name});`;
        case "data_loc_string": return `bpf_probe_read_kernel_str(${dst}, ${size}, (const char *)ctx + (ctx->${f.name} & 0xffff));`;
        case "char_array": return `bpf_probe_read_kernel(${dst}, ${size}, ctx->${f.name});`;
        default: throw new Error(`${f.name} is not a string`);
      }
    }
    case "stashed": return copyBytes(dst, `${locals.stash}->${source.member}`, size);
    case "param": {
      // Cut to the smaller of the two arrays, and terminated.
      const have = (source.param.type as StringType).size;
      const copy = copyBytes(dst, `(const void *)${locals.params}.${source.param.name}`, Math.min(have, size));
      return have > size ? `${copy} ${dst}[${size - 1}] = 0;` : copy;
    }
    default: throw new Error(`${source.kind} is not a string`);
  }
}

/**
 * Statements reading a list of user strings (execve's argv: a NULL-terminated array of
 * pointers) into `dst`, `char dst[count][size]`: each pointer with bpf_probe_read_user, each
 * string with bpf_probe_read_user_str into its own slot, stopping at the first NULL (or a
 * pointer it cannot read). `n` gets how many were read; `more` whether a pointer followed the
 * last slot. The loop is unrolled: a fixed number of steps, whatever the kernel's verifier.
 */
export function readStringList(source: ValueSource, dst: string, n: string, more: string, list: StringListType): string[] {
  if (source.kind !== "tracepoint-field" || source.field.access.kind !== "user_string_list") throw new Error(`${source.kind} is not a list of strings`);
  const pointer = (i: string) => `bpf_probe_read_user(&pg_s, sizeof(pg_s), &pg_list[${i}])`;
  return [
    "{",
    `\tconst char *const *pg_list = (const char *const *)ctx->${source.field.name};`,
    "\tconst char *pg_s = 0;",
    `\t${n} = 0;`,
    `\t${more} = 0;`,
    "\t#pragma unroll",
    `\tfor (__u32 pg_i = 0; pg_i < ${list.count}; pg_i++) {`,
    `\t\tif (${pointer("pg_i")} || !pg_s)`,
    "\t\t\tbreak;",
    `\t\tbpf_probe_read_user_str(${dst}[pg_i], ${list.size}, pg_s);`,
    `\t\t${n} = pg_i + 1;`,
    "\t}",
    `\tif (${n} == ${list.count} && !${pointer(String(list.count))} && pg_s)`,
    `\t\t${more} = 1;`,
    "}",
  ];
}

/**
 * A statement copying `size` bytes of the array `source` into `dst`: the array's own bytes,
 * never its address (an array in C decays to a pointer wherever it is used as a value).
 */
export function readArray(source: ValueSource, dst: string, size: number): string {
  switch (source.kind) {
    case "builtin":
      if (source.name === "kstack" || source.name === "ustack") return readStack(source.name, dst);
      throw new Error(`${source.name} is not an array`);
    case "tracepoint-field": return `bpf_probe_read_kernel(${dst}, ${size}, ctx->${source.field.name});`;
    case "path": return `BPF_CORE_READ_INTO(&${dst}, ${coreArgs(source)});`;
    case "stashed": return copyBytes(dst, `${locals.stash}->${source.member}`, size);
    case "context": {
      // Context members are loaded a word at a time (the verifier refuses copies out of ctx).
      if (!("words" in source.field)) throw new Error(`${source.field.name} is not an array`);
      return `{ __u32 pg_words[${source.field.words.length}] = { ${source.field.words.join(", ")} }; ${copyBytes(dst, "pg_words", size)} }`;
    }
    case "packet": return copyBytes(dst, packetLocal(source), size);
    default: throw new Error(`${source.kind} is not an array`);
  }
}

/**
 * A stack into `dst`, a record of STACK_RECORD.words u64s (src/runtime/stack.ts): the pid of a
 * user stack (0 for a kernel stack), then bpf_get_stack's addresses. bpf_get_stack zeroes what
 * it does not fill, and the whole buffer when the walk fails, so equal stacks are equal keys.
 */
function readStack(name: "kstack" | "ustack", dst: string): string {
  const frames = `&(${dst})[${STACK_RECORD.firstFrameWord}]`;
  const bytes = STACK_RECORD.frames * 8;
  const pid = name === "ustack" ? `${locals.pidTgid} >> 32` : "0";
  return `bpf_get_stack(ctx, ${frames}, ${bytes}, ${name === "ustack" ? "BPF_F_USER_STACK" : "0"}); (${dst})[${STACK_RECORD.pidWord}] = ${pid};`;
}

/**
 * Largest copy left to __builtin_memcpy, which clang expands inline (one store per 1 to 8 bytes);
 * clang 14 refuses to expand more than 1 KiB ("a call to built-in function 'memcpy' is not
 * supported"), and long inline copies cost instructions the verifier counts.
 */
const INLINE_COPY_MAX = 256;

/** A statement copying `size` bytes between two buffers the program owns (the stash, scratch, an event). */
export function copyBytes(dst: string, src: string, size: number): string {
  if (size <= INLINE_COPY_MAX) return `__builtin_memcpy(${dst}, ${src}, ${size});`;
  // One helper call copies any size, and the verifier checks both ranges.
  return `bpf_probe_read_kernel(${dst}, ${size}, ${src});`;
}

/**
 * Resolves a string-valued expression to the char array that holds it, with at least its first
 * `bytes` bytes (all of a shorter string), and how many bytes of that array the program may read.
 */
export type StringHome = (e: IrExpr & { kind: "value" }, bytes: number) => { array: string; size: number };

export function printExpr(e: IrExpr, strings: StringHome): string {
  switch (e.kind) {
    case "int": return intLiteral(e.value, e.type);
    case "string": throw new Error("bare string literal");
    case "value": return scalarValue(e.source, e.type);
    case "unary": return `${e.op}(${printExpr(e.operand, strings)})`;
    case "binary": {
      if (e.left.type.kind === "string" && e.left.kind === "value" && e.right.kind === "string") {
        // Only the bytes the comparison reads, and one more to tell "ab" from a longer string.
        const eq = stringEquals(stringHome(e.left, comparedBytes(e.right.value) + 1, strings).array, e.right.value);
        return e.op === "==" ? eq : `!${eq}`;
      }
      if (e.left.type.kind === "string" && e.left.kind === "value" && e.right.kind === "value") {
        const eq = stringPairEquals(e.left, e.right, strings);
        return e.op === "==" ? eq : `!${eq}`;
      }
      if (e.op === "&&" || e.op === "||") return `(${printExpr(e.left, strings)} ${e.op} ${printExpr(e.right, strings)})`;
      // Compare and compute in 64 bits, signed unless every operand is unsigned, so C's
      // implicit conversions never surprise: `ret < 0` is signed, `uid == 0` is unsigned.
      const cast = operandsSigned(e.left, e.right) ? "__s64" : "__u64";
      const left = operand(e.left, cast, strings);
      const right = operand(e.right, cast, strings);
      const helper = divisionHelper(e);
      if (helper) return `${helper}(${left}, ${right})`;
      // A count known only at run time is taken modulo 64, as BPF's shift instructions do
      // (C leaves a shift by 64 or more undefined; the typer refuses constant ones).
      if ((e.op === "<<" || e.op === ">>") && e.right.kind !== "int") return `(${left} ${e.op} (${right} & 63))`;
      return `(${left} ${e.op} ${right})`;
    }
  }
}

/**
 * `e` printed as the operand of a cast or a unary operator: as it is when its shape allows
 * (a group, a cast value, a unary operation, a literal), else parenthesised.
 */
export function printOperand(e: IrExpr, strings: StringHome): string {
  const printed = printExpr(e, strings);
  return e.kind === "int" && e.value < 0n ? `(${printed})` : printed;
}

/** `e` as the condition of an `if`: in parentheses, once (a binary operation prints its own). */
export function printCondition(e: IrExpr, strings: StringHome): string {
  const printed = printExpr(e, strings);
  return enclosed(printed) ? printed : `(${printed})`;
}

/** Whether `text` is one parenthesised group: `(a && b)`, not `(a) && (b)` or `f(a)`. */
function enclosed(text: string): boolean {
  if (!text.startsWith("(")) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i === text.length - 1;
  }
  return false;
}

/**
 * The template's helper that does a division or remainder (templates/probe.bpf.c.hbs): any
 * signed one (BPF before cpu v4 has no signed division, and clang 14 crashes on it), and an
 * unsigned one by a value known only at run time (C leaves x / 0 undefined; the helpers give
 * BPF's x / 0 == 0 and x % 0 == x). Unsigned by a constant (never 0: the typer refuses it) is
 * plain C.
 */
export function divisionHelper(e: IrExpr): DivisionHelper | undefined {
  if (e.kind !== "binary" || (e.op !== "/" && e.op !== "%")) return undefined;
  const signed = operandsSigned(e.left, e.right);
  if (!signed && e.right.kind === "int") return undefined;
  return `pg_${signed ? "s" : "u"}${e.op === "/" ? "div" : "mod"}`;
}

export type DivisionHelper = "pg_sdiv" | "pg_smod" | "pg_udiv" | "pg_umod";

/** An operand converted to the 64-bit type the operation is done in; literals get the suffix. */
function operand(e: IrExpr, cast: "__s64" | "__u64", strings: StringHome): string {
  if (e.kind === "int") return intLiteral(e.value, cast === "__s64" ? i64 : u64);
  const already = e.type.kind === "int" && e.type.size === 8 && e.type.signed === (cast === "__s64");
  return already ? printExpr(e, strings) : `(${cast})${printOperand(e, strings)}`;
}

function intLiteral(value: bigint, type: IntType): string {
  if (value > 0x7fffffffffffffffn) return `0x${value.toString(16)}ULL`;
  // C has no literal for the smallest i64: -9223372036854775808 is 9223372036854775808 negated.
  if (value === -(1n << 63n)) return "(-0x7fffffffffffffffLL - 1)";
  return type.signed || value < 0n ? `${value}LL` : `${value}ULL`;
}

/** The bytes of a string a comparison with `literal` reads: the literal's, and its NUL. */
export function comparedBytes(literal: string): number {
  return Buffer.byteLength(literal, "utf8") + 1;
}

/**
 * Two string values, one of them a string parameter (already in memory), compared up to the
 * first NUL by the template's pg_streq: the other string is read as far as the parameter's
 * bytes and one more, so a longer string never matches a parameter that is its prefix.
 */
function stringPairEquals(left: IrExpr & { kind: "value" }, right: IrExpr & { kind: "value" }, strings: StringHome): string {
  const widest = Math.max(...[left, right].map((v) => (v.source.kind === "param" ? (v.type as StringType).size : 0)));
  const [a, b] = [left, right].map((v) => stringHome(v, widest + 1, strings));
  return `pg_streq(${a!.array}, ${a!.size}, ${b!.array}, ${b!.size})`;
}

/** Where a string value is: a parameter in .rodata, else wherever the program put it (StringHome). */
function stringHome(e: IrExpr & { kind: "value" }, bytes: number, strings: StringHome): { array: string; size: number } {
  if (e.source.kind === "param") return { array: `${locals.params}.${e.source.param.name}`, size: (e.type as StringType).size };
  return strings(e, bytes);
}

/** Whether an expression compares two string values (the template then defines pg_streq). */
export function comparesStringValues(e: IrExpr): boolean {
  return e.kind === "binary" && e.left.type.kind === "string" && e.left.kind === "value" && e.right.kind === "value";
}

/** Byte-by-byte comparison, NUL included: no loop, no .rodata, nothing for the verifier to doubt. */
function stringEquals(array: string, literal: string): string {
  const bytes = [...Buffer.from(literal, "utf8"), 0];
  return `(${bytes.map((b, i) => `${array}[${i}] == ${b}`).join(" && ")})`;
}

/** A function argument: from the registers (kprobes), the u64 array tracing programs get, or a USDT probe's notes (the template's pg_usdt_arg). */
function argValue(index: number, ctx: ArgContext | undefined): string {
  if (ctx === "usdt") return `pg_usdt_arg(ctx, ${index})`;
  return ctx === "array" ? `ctx[${index}]` : `PT_REGS_PARM${index + 1}(ctx)`;
}

/** `BPF_CORE_READ(root, a, b.c)`: one hop per pointer followed, members of one struct joined by dots. */
function coreRead(source: ValueSource & { kind: "path" }): string {
  return `BPF_CORE_READ(${coreArgs(source)})`;
}

function coreArgs(source: ValueSource & { kind: "path" }): string {
  const root = source.root.kind === "task" ? "pg_task" : `((${source.root.cType})${argValue(source.root.index, source.root.ctx)})`;
  const hops: string[] = [];
  for (const step of source.steps) {
    if (step.deref || hops.length === 0) hops.push(step.name);
    else hops[hops.length - 1] += `.${step.name}`;
  }
  return [root, ...hops].join(", ");
}

/** Whether a source reads through the current task (the program then declares pg_task). */
export function needsTask(s: ValueSource): boolean {
  if (s.kind === "path") return s.root.kind === "task";
  if (s.kind === "stashed") return needsTask(s.inner);
  if (s.kind === "errno") return needsTask(s.ret);
  return false;
}
