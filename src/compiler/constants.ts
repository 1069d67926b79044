/**
 * What the compiler knows about an expression's value before the program runs: the range of
 * values it can take, and so the value of a constant. It follows the meaning the C printer
 * (c-expr.ts) gives each operator: arithmetic in 64 bits, signed when an operand is; x / 0 is
 * 0 and x % 0 is x (BPF's rule); shift counts are taken modulo 64. The typer uses it to refuse
 * what clang would otherwise fold in silence: a division by zero, a shift past the width, a
 * literal its type cannot hold, a comparison (or a whole filter) that is always false.
 */
import type { IrExpr } from "./ir.js";
import { typeName, type IntType } from "./types.js";

/** The values an expression can have, both ends included (mathematical integers). */
export interface Range {
  min: bigint;
  max: bigint;
}

/** The width every operation is done in: operands are converted to 64 bits first. */
export const OPERATION_BITS = 64n;

const s64: Range = { min: -(1n << 63n), max: (1n << 63n) - 1n };
const u64: Range = { min: 0n, max: (1n << 64n) - 1n };
const flag: Range = { min: 0n, max: 1n };

export function intRange(t: IntType): Range {
  const bits = BigInt(t.size * 8);
  return t.signed ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n } : { min: 0n, max: (1n << bits) - 1n };
}

export function fits(value: bigint, t: IntType): boolean {
  const r = intRange(t);
  return value >= r.min && value <= r.max;
}

/** "u32 (0 to 4294967295)": a type with the values it holds, for messages. */
export function rangeText(t: IntType): string {
  return describeRange(typeName(t), intRange(t));
}

export function describeRange(name: string, r: Range): string {
  return `${name} (${r.min} to ${r.max})`;
}

/** The integers a JS number holds exactly: what the loader's numbers (histogram bounds) can be. */
export const safeIntegers: Range = { min: BigInt(Number.MIN_SAFE_INTEGER), max: BigInt(Number.MAX_SAFE_INTEGER) };

/** Every integer any expression may hold: a 64-bit one, signed or not. */
export const anyInteger: Range = { min: s64.min, max: u64.max };

/** Whether the printer does `e`'s operation in signed 64-bit arithmetic (else unsigned). */
export function operandsSigned(a: IrExpr, b: IrExpr): boolean {
  const signed = (e: IrExpr): boolean => (e.kind === "int" ? e.value < 0n : e.type.kind === "int" && e.type.signed);
  return signed(a) || signed(b);
}

/** The value of `e` when it is the same on every run. */
export function constantOf(e: IrExpr): bigint | undefined {
  const r = rangeOf(e);
  return r && r.min === r.max ? r.min : undefined;
}

/** What `e` can be, or undefined for a string. */
export function rangeOf(e: IrExpr): Range | undefined {
  switch (e.kind) {
    case "int": return { min: e.value, max: e.value };
    case "string": return undefined;
    case "value":
      if (e.source.kind === "probe" && e.source.only) return constant(BigInt(e.source.index));
      return e.type.kind === "int" ? intRange(e.type) : e.type.kind === "bool" ? flag : undefined;
    case "unary": return unaryRange(e);
    case "binary": return binaryRange(e);
  }
}

function unaryRange(e: IrExpr & { kind: "unary" }): Range | undefined {
  const r = rangeOf(e.operand);
  if (!r) return undefined;
  if (e.op === "!") return r.min > 0n || r.max < 0n ? constant(0n) : r.min === 0n && r.max === 0n ? constant(1n) : flag;
  // '-' and '~' work in the operand's C type: narrower than 32 bits, C makes it an int first.
  const type: IntType = e.type.kind === "int" ? e.type : { kind: "int", size: 8, signed: true };
  const promoted = type.size < 4 ? intRange({ kind: "int", size: 4, signed: true }) : intRange(type);
  if (r.min !== r.max) return promoted;
  const v = e.op === "-" ? -r.min : ~r.min;
  return constant(type.size < 4 ? v : type.signed ? BigInt.asIntN(type.size * 8, v) : BigInt.asUintN(type.size * 8, v));
}

function binaryRange(e: IrExpr & { kind: "binary" }): Range | undefined {
  const l = rangeOf(e.left);
  const r = rangeOf(e.right);
  if (!l || !r) return e.op === "==" || e.op === "!=" ? flag : undefined; // strings: compared at run time
  if (e.op === "&&" || e.op === "||") return logical(e.op, l, r);
  const domain = operandsSigned(e.left, e.right) ? s64 : u64;
  const a = within(l, domain);
  const b = within(r, domain);
  switch (e.op) {
    case "==": case "!=": case "<": case "<=": case ">": case ">=": {
      const decided = compare(e.op, a, b);
      return decided === undefined ? flag : constant(decided ? 1n : 0n);
    }
    case "+": return inDomain(a.min + b.min, a.max + b.max, domain);
    case "-": return inDomain(a.min - b.max, a.max - b.min, domain);
    case "*": {
      const corners = [a.min * b.min, a.min * b.max, a.max * b.min, a.max * b.max];
      return inDomain(min(corners), max(corners), domain);
    }
    case "/": case "%":
      if (a.min === a.max && b.min === b.max) return constant(divide(e.op, a.min, b.min));
      if (a.min >= 0n && b.min >= 0n) return { min: 0n, max: a.max };
      return domain;
    case "&":
      if (a.min >= 0n && b.min >= 0n) return a.min === a.max && b.min === b.max ? constant(a.min & b.min) : { min: 0n, max: a.max < b.max ? a.max : b.max };
      if (a.min >= 0n) return { min: 0n, max: a.max };
      if (b.min >= 0n) return { min: 0n, max: b.max };
      return domain;
    case "|": case "^":
      if (a.min === a.max && b.min === b.max) return constant(wrap(e.op === "|" ? a.min | b.min : a.min ^ b.min, domain));
      if (a.min >= 0n && b.min >= 0n) return { min: 0n, max: (1n << BigInt(bitLength(a.max > b.max ? a.max : b.max))) - 1n };
      return domain;
    case "<<": case ">>": {
      // A count known only at run time is taken modulo 64 (the printer masks it).
      if (b.min !== b.max) return e.op === ">>" && a.min >= 0n ? { min: 0n, max: a.max } : domain;
      const count = b.min & (OPERATION_BITS - 1n);
      if (e.op === ">>") return { min: shiftRight(a.min, count, domain), max: shiftRight(a.max, count, domain) };
      if (a.min === a.max) return constant(wrap(a.min << count, domain));
      return inDomain(a.min << count, a.max << count, domain);
    }
  }
}

function logical(op: "&&" | "||", l: Range, r: Range): Range {
  const truth = (x: Range): boolean | undefined => (x.min > 0n || x.max < 0n ? true : x.min === 0n && x.max === 0n ? false : undefined);
  const a = truth(l);
  const b = truth(r);
  if (op === "&&") return a === false || b === false ? constant(0n) : a && b ? constant(1n) : flag;
  return a === true || b === true ? constant(1n) : a === false && b === false ? constant(0n) : flag;
}

/** Whether `a op b` holds for every value of both (true), for none (false), or it depends. */
function compare(op: "==" | "!=" | "<" | "<=" | ">" | ">=", a: Range, b: Range): boolean | undefined {
  switch (op) {
    case "<": return a.max < b.min ? true : a.min >= b.max ? false : undefined;
    case "<=": return a.max <= b.min ? true : a.min > b.max ? false : undefined;
    case ">": return compare("<", b, a);
    case ">=": return compare("<=", b, a);
    case "==": return a.max < b.min || b.max < a.min ? false : a.min === a.max && b.min === b.max ? true : undefined;
    case "!=": {
      const eq = compare("==", a, b);
      return eq === undefined ? undefined : !eq;
    }
  }
}

/** Division as the program does it: truncating toward zero, x / 0 == 0, x % 0 == x. */
export function divide(op: "/" | "%", a: bigint, b: bigint): bigint {
  if (b === 0n) return op === "/" ? 0n : a;
  return op === "/" ? a / b : a % b;
}

/** A range converted to the operation's 64-bit type: kept if it fits, else it may wrap to anything. */
function within(r: Range, domain: Range): Range {
  return r.min >= domain.min && r.max <= domain.max ? r : r.min === r.max ? constant(wrap(r.min, domain)) : domain;
}

function inDomain(lo: bigint, hi: bigint, domain: Range): Range {
  if (lo >= domain.min && hi <= domain.max) return { min: lo, max: hi };
  return lo === hi ? constant(wrap(lo, domain)) : domain;
}

function wrap(v: bigint, domain: Range): bigint {
  return domain.min < 0n ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
}

function shiftRight(v: bigint, count: bigint, domain: Range): bigint {
  // Signed: arithmetic (BigInt's >> floors, as the sign-extending shift does); unsigned: logical.
  return domain.min < 0n ? v >> count : BigInt.asUintN(64, v) >> count;
}

function constant(v: bigint): Range {
  return { min: v, max: v };
}

function bitLength(v: bigint): number {
  return v.toString(2).length;
}

function min(xs: bigint[]): bigint {
  return xs.reduce((a, b) => (a < b ? a : b));
}

function max(xs: bigint[]): bigint {
  return xs.reduce((a, b) => (a > b ? a : b));
}

/** An integer for a message: in digits, never as a float; a very long one shortened. */
export function integerText(v: bigint): string {
  const digits = v.toString();
  return digits.length <= 40 ? digits : `${digits.slice(0, 20)}... (a ${digits.replace("-", "").length}-digit number)`;
}
