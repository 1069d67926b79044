import { STACK_RECORD } from "../runtime/stack.js";

/** The value types probegen lays out and decodes: fixed-width integers, booleans, C strings, arrays, structs. */

export type IntType = { kind: "int"; size: 1 | 2 | 4 | 8; signed: boolean };
export type BoolType = { kind: "bool" };
/** A NUL-terminated string in a fixed-size char array. */
export type StringType = { kind: "string"; size: number };
/**
 * A fixed-length array of integers, copied by value: u8[16] is bytes (an address, a hash),
 * u64[6] the six syscall arguments. Never a pointer to the array.
 */
export type ArrayType = {
  kind: "array";
  element: IntType;
  length: number;
  /**
   * A call stack (`kstack`, `ustack`): a u64 array of STACK_RECORD.words words laid out as
   * src/runtime/stack.ts says (the pid, then the return addresses), filled by bpf_get_stack and
   * read in TS as a StackTrace. It is copied and keyed like any array.
   */
  stack?: "kernel" | "user";
};
export type StructType = { kind: "struct"; members: Array<{ name: string; type: ScalarOrString }> };
/**
 * A list of user-space strings behind a NULL-terminated pointer array (execve's argv): up to
 * `count` strings of `size` bytes each, NUL included. Only events carry one (their layout adds
 * how many were read, and whether more were left).
 */
export type StringListType = { kind: "string_list"; count: number; size: number };
/** What one field, map key/value or struct member holds (arrays included: they are copied whole). */
export type ScalarOrString = IntType | BoolType | StringType | ArrayType | StringListType;
export type ValueType = ScalarOrString | StructType;

export const u8: IntType = { kind: "int", size: 1, signed: false };
export const u16: IntType = { kind: "int", size: 2, signed: false };
export const u32: IntType = { kind: "int", size: 4, signed: false };
export const u64: IntType = { kind: "int", size: 8, signed: false };
export const i32: IntType = { kind: "int", size: 4, signed: true };
export const i64: IntType = { kind: "int", size: 8, signed: true };

const scalarNames: Record<string, ScalarOrString> = {
  u8, u16, u32, u64,
  i8: { kind: "int", size: 1, signed: true },
  i16: { kind: "int", size: 2, signed: true },
  i32, i64,
  bool: { kind: "bool" },
};

/** The type of `kstack` (a kernel stack) or `ustack` (a user stack). */
export function stackType(stack: "kernel" | "user"): ArrayType {
  return { kind: "array", element: u64, length: STACK_RECORD.words, stack };
}

/** Parses "u32", "string[16]", "u8[16]", "kstack"; undefined for anything else. */
export function parseTypeName(name: string): ScalarOrString | undefined {
  const scalar = scalarNames[name];
  if (scalar) return scalar;
  if (name === "kstack" || name === "ustack") return stackType(name === "kstack" ? "kernel" : "user");
  const m = /^(string|[ui](?:8|16|32|64))\[(\d+)\]$/.exec(name);
  if (!m || Number(m[2]) === 0) return undefined;
  if (m[1] === "string") return { kind: "string", size: Number(m[2]) };
  return { kind: "array", element: scalarNames[m[1]!] as IntType, length: Number(m[2]) };
}

/** Whether an array is copied into another whole: the same bytes, and a stack only into a stack of its kind. */
export function arrayFits(from: ArrayType, to: ArrayType): boolean {
  return sizeOf(from) === sizeOf(to) && from.stack === to.stack;
}

/** What a key or value of type `to` is filled from, for messages: "the ustack builtin", "a captured array of 16 bytes". */
export function arraySourceText(to: ArrayType): string {
  return to.stack ? `the ${typeName(to)} builtin` : `a captured array of ${sizeOf(to)} bytes`;
}

/** Whether an array holds bytes (u8): TS reads those as a Uint8Array, others as arrays of numbers or bigints. */
export function isByteArray(t: ArrayType): boolean {
  return t.element.size === 1 && !t.element.signed;
}

export function sizeOf(t: ValueType): number {
  switch (t.kind) {
    case "int": return t.size;
    case "bool": return 1;
    case "string": return t.size;
    case "array": return t.element.size * t.length;
    case "string_list": return t.count * t.size;
    case "struct": throw new Error("struct sizes come from the layout pass");
  }
}

export function alignOf(t: ScalarOrString): number {
  if (t.kind === "array") return t.element.size;
  return t.kind === "int" ? t.size : 1;
}

export function typeName(t: ValueType): string {
  switch (t.kind) {
    case "int": return `${t.signed ? "i" : "u"}${t.size * 8}`;
    case "bool": return "bool";
    case "string": return `string[${t.size}]`;
    case "array": return t.stack ? (t.stack === "kernel" ? "kstack" : "ustack") : `${typeName(t.element)}[${t.length}]`;
    case "string_list": return `string_list[${t.count}][${t.size}]`;
    case "struct": return `{ ${t.members.map((m) => `${m.name}: ${typeName(m.type)}`).join(", ")} }`;
  }
}

/** A declaration of `name` as `t`: `__u32 pid`, `char comm[16]`, `__u8 saddr[4]`. */
export function cDeclaration(t: ScalarOrString, name: string): string {
  if (t.kind === "string") return `char ${name}[${t.size}]`;
  if (t.kind === "string_list") return `char ${name}[${t.count}][${t.size}]`;
  if (t.kind === "array") return `${cScalarType(t.element)} ${name}[${t.length}]`;
  return `${cScalarType(t)} ${name}`;
}

/** The C spelling of a scalar, for declarations. */
export function cScalarType(t: IntType | BoolType): string {
  if (t.kind === "bool") return "__u8";
  return `__${t.signed ? "s" : "u"}${t.size * 8}`;
}
