/** Runtime parameters: checked before they are written into the object's .rodata. */
import { writeCString } from "./codecs.js";
import { checkBool, checkInt, describeValue, withSubject, type IntTypeName } from "./values.js";

/**
 * The parameter's value for .rodata: `value`, or `fallback` (the spec's default) when it is
 * undefined. Throws a TypeError/RangeError naming the parameter when the value does not fit
 * the C type: null is not "unset", a bool takes only booleans, a 64-bit integer a bigint or a
 * safe integer.
 */
export function checkParam(probe: string, name: string, value: unknown, fallback: bigint | boolean, type: IntTypeName | "bool"): bigint {
  const v = value === undefined ? fallback : value;
  try {
    if (type === "bool") return checkBool(v) ? 1n : 0n;
    return BigInt(checkInt(v, type));
  } catch (err) {
    throw withSubject(`${probe}: parameter '${name}'`, err);
  }
}

/**
 * Writes a string parameter (`value`, or the spec's default when undefined) into its `size`
 * bytes of .rodata: UTF-8, NUL-terminated. Throws a TypeError/RangeError naming the parameter
 * for a value that is not a string, that contains a NUL (the kernel would see it end there), or
 * whose bytes do not fit with the terminating NUL.
 */
export function writeStringParam(probe: string, name: string, value: unknown, fallback: string, view: DataView, offset: number, size: number): void {
  const v = value === undefined ? fallback : value;
  try {
    if (typeof v === "string" && v.includes("\0")) throw new RangeError(`must not contain a NUL character, got ${describeValue(v)}`);
    writeCString(view, offset, size, v);
  } catch (err) {
    throw withSubject(`${probe}: parameter '${name}'`, err);
  }
}

/** Rejects parameter names the probe does not declare, listing the ones it does. */
export function checkParamNames(probe: string, params: object, known: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) {
      throw new TypeError(`${probe}: unknown parameter '${name}'; ${known.length ? `it has: ${known.join(", ")}` : "it declares none"}`);
    }
  }
}
