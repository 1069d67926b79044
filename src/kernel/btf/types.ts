/**
 * The kernel's BTF type kinds (Documentation/bpf/btf.rst) and the objects a reader hands out.
 * Objects are materialised on demand from the raw type section; ids are the BTF's own (0 is void).
 */

export const Kind = {
  Void: 0, Int: 1, Ptr: 2, Array: 3, Struct: 4, Union: 5, Enum: 6, Fwd: 7, Typedef: 8, Volatile: 9,
  Const: 10, Restrict: 11, Func: 12, FuncProto: 13, Var: 14, Datasec: 15, Float: 16, DeclTag: 17,
  TypeTag: 18, Enum64: 19,
} as const;
export type KindNumber = (typeof Kind)[keyof typeof Kind];

export const kindNames = [
  "void", "int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef", "volatile",
  "const", "restrict", "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum64",
] as const;
export type KindName = (typeof kindNames)[number];

interface Base {
  id: number;
  /** "" for anonymous types (and for kinds that carry no name, like ptr). */
  name: string;
}

export interface BtfVoid extends Base { kind: "void" }
export interface BtfInt extends Base {
  kind: "int";
  size: number;
  signed: boolean;
  char: boolean;
  bool: boolean;
  /** Only non-zero in old-style bitfield encodings. */
  bitOffset: number;
  bits: number;
}
export interface BtfPtr extends Base { kind: "ptr"; type: number }
export interface BtfArray extends Base { kind: "array"; type: number; indexType: number; nelems: number }
export interface BtfMember {
  name: string;
  type: number;
  /** From the start of the containing struct/union. */
  bitOffset: number;
  /** 0 when the member is not a bitfield. */
  bitfieldSize: number;
}
export interface BtfComposite extends Base { kind: "struct" | "union"; size: number; members: BtfMember[] }
export interface BtfEnumValue { name: string; value: number }
export interface BtfEnum extends Base { kind: "enum"; size: number; signed: boolean; values: BtfEnumValue[] }
export interface BtfEnum64Value { name: string; value: bigint }
export interface BtfEnum64 extends Base { kind: "enum64"; size: number; signed: boolean; values: BtfEnum64Value[] }
export interface BtfFwd extends Base { kind: "fwd"; union: boolean }
/** typedef, the qualifiers and type_tag: a name or qualifier over another type. */
export interface BtfRef extends Base { kind: "typedef" | "volatile" | "const" | "restrict" | "type_tag"; type: number }
export type Linkage = "static" | "global" | "extern";
export interface BtfFunc extends Base { kind: "func"; type: number; linkage: Linkage }
export interface BtfParam { name: string; type: number }
export interface BtfFuncProto extends Base { kind: "func_proto"; returnType: number; params: BtfParam[]; variadic: boolean }
export interface BtfVar extends Base { kind: "var"; type: number; linkage: Linkage }
export interface BtfSecinfo { type: number; offset: number; size: number }
export interface BtfDatasec extends Base { kind: "datasec"; size: number; vars: BtfSecinfo[] }
export interface BtfFloat extends Base { kind: "float"; size: number }
/** A tag on a type (componentIdx -1), or on one member / parameter of it (its index). */
export interface BtfDeclTag extends Base { kind: "decl_tag"; type: number; componentIdx: number }

export type BtfType =
  | BtfVoid | BtfInt | BtfPtr | BtfArray | BtfComposite | BtfEnum | BtfEnum64 | BtfFwd | BtfRef
  | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag;

export class BtfError extends Error {
  override name = "BtfError";
}
