/** The value types probegen lays out and decodes: fixed-width integers, booleans, C strings, structs. */

export type IntType = { kind: "int"; size: 1 | 2 | 4 | 8; signed: boolean };
export type BoolType = { kind: "bool" };
/** A NUL-terminated string in a fixed-size char array. */
export type StringType = { kind: "string"; size: number };
export type StructType = { kind: "struct"; members: Array<{ name: string; type: ScalarOrString }> };
export type ScalarOrString = IntType | BoolType | StringType;
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

/** Parses "u32", "string[16]"; undefined for anything else. */
export function parseTypeName(name: string): ScalarOrString | undefined {
  const scalar = scalarNames[name];
  if (scalar) return scalar;
  const m = /^string\[(\d+)\]$/.exec(name);
  return m ? { kind: "string", size: Number(m[1]) } : undefined;
}

export function sizeOf(t: ValueType): number {
  switch (t.kind) {
    case "int": return t.size;
    case "bool": return 1;
    case "string": return t.size;
    case "struct": throw new Error("struct sizes come from the layout pass");
  }
}

export function alignOf(t: ScalarOrString): number {
  return t.kind === "int" ? t.size : 1;
}

export function typeName(t: ValueType): string {
  switch (t.kind) {
    case "int": return `${t.signed ? "i" : "u"}${t.size * 8}`;
    case "bool": return "bool";
    case "string": return `string[${t.size}]`;
    case "struct": return `{ ${t.members.map((m) => `${m.name}: ${typeName(m.type)}`).join(", ")} }`;
  }
}

/** The C spelling of a scalar, for declarations. */
export function cScalarType(t: IntType | BoolType): string {
  if (t.kind === "bool") return "__u8";
  return `__${t.signed ? "s" : "u"}${t.size * 8}`;
}
