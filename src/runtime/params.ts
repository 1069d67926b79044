/** Runtime parameters: checked before they are written into the object's .rodata. */

/** Throws a TypeError/RangeError naming the parameter when `value` does not fit the C type. */
export function checkParam(probe: string, name: string, value: unknown, size: 1 | 2 | 4 | 8, signed: boolean): bigint {
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (typeof value !== "number" && typeof value !== "bigint") {
    throw new TypeError(`${probe}: parameter '${name}' must be a number, got ${typeof value}`);
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new RangeError(`${probe}: parameter '${name}' must be an integer, got ${value}`);
  }
  const v = BigInt(value);
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) {
    throw new RangeError(`${probe}: parameter '${name}' is ${v}, outside ${signed ? "i" : "u"}${size * 8} (${min}..${max})`);
  }
  return v;
}

/** Rejects parameter names the probe does not declare, listing the ones it does. */
export function checkParamNames(probe: string, params: object, known: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) {
      throw new TypeError(`${probe}: unknown parameter '${name}'; ${known.length ? `it has: ${known.join(", ")}` : "it declares none"}`);
    }
  }
}
