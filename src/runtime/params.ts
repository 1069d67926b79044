/** Runtime parameters: checked before they are written into the object's .rodata. */
import { checkBool, checkInt, withSubject, type IntTypeName } from "./values.js";

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

/** Rejects parameter names the probe does not declare, listing the ones it does. */
export function checkParamNames(probe: string, params: object, known: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) {
      throw new TypeError(`${probe}: unknown parameter '${name}'; ${known.length ? `it has: ${known.join(", ")}` : "it declares none"}`);
    }
  }
}
