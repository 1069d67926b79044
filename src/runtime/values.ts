/**
 * What a JS value must be to become a C integer or bool: checked where values cross into the
 * kernel (map codecs, parameters), so nothing wraps (2**32 -> 0), turns NaN into 0 ('abc'),
 * or loses digits (2**53 + 1) on its way. Errors are TypeError (wrong kind of value) or
 * RangeError (an integer outside the type), their message starting at "must be" or "is" so
 * the caller puts its subject first ("map 'counts' key", "opensnoop: parameter 'pid'").
 */

/** C integer types by name, as generated code spells them. */
export type IntTypeName = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";

interface IntRange {
  readonly min: bigint;
  readonly max: bigint;
  /** What a value must be, for messages: "a u32 (an integer in 0..4294967295)". */
  readonly expected: string;
}

const RANGES = new Map<string, IntRange>();
for (const signed of [false, true]) {
  for (const bits of [8, 16, 32, 64]) {
    const name = `${signed ? "i" : "u"}${bits}`;
    const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
    const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
    const kind = bits === 64 ? "a bigint, or a safe integer," : "an integer";
    RANGES.set(name, { min, max, expected: `${signed ? "an" : "a"} ${name} (${kind} in ${min}..${max})` });
  }
}

function range(type: string): IntRange {
  const r = RANGES.get(type);
  if (!r) throw new TypeError(`unknown integer type '${type}'`);
  return r;
}

/** "an i32 (an integer in -2147483648..2147483647)". */
export function expectedInt(type: IntTypeName): string {
  return range(type).expected;
}

/** A value as a message shows it: 5, 5n, null, the string 'abc', an object. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string": return `the string ${JSON.stringify(value).replace(/^"|"$/g, "'")}`;
    case "bigint": return `${value}n`;
    case "number": case "boolean": case "undefined": return String(value);
    case "function": return "a function";
    case "symbol": return "a symbol";
    default: return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
  }
}

/**
 * `value` as an integer of C type `type`: a number that is a safe integer, or a bigint, within
 * the type's range. Returns it unchanged (number or bigint); throws otherwise.
 */
export function checkInt(value: unknown, type: IntTypeName): number | bigint {
  const r = range(type);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new RangeError(`must be ${r.expected}, got ${value}`);
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`must be ${r.expected}, got ${value}, a number beyond 2^53 that may have lost digits: pass a bigint`);
    }
    if (value < r.min || value > r.max) throw new RangeError(`must be ${r.expected}, got ${value}`);
    return value;
  }
  if (typeof value === "bigint") {
    if (value < r.min || value > r.max) throw new RangeError(`must be ${r.expected}, got ${value}n`);
    return value;
  }
  throw new TypeError(`must be ${r.expected}, got ${describeValue(value)}`);
}

/** `value` if it is a boolean; throws otherwise (a 5 would reach C as 5, not 1). */
export function checkBool(value: unknown): boolean {
  if (typeof value !== "boolean") throw new TypeError(`must be a boolean, got ${describeValue(value)}`);
  return value;
}

/** Prefixes a checker's message with its subject, keeping the error's class. */
export function withSubject(subject: string, err: unknown): unknown {
  if (!(err instanceof TypeError || err instanceof RangeError)) return err;
  const Class = err instanceof RangeError ? RangeError : TypeError;
  return new Class(`${subject} ${err.message}`, { cause: err });
}
