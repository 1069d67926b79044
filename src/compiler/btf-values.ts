/**
 * Kernel types as probegen values: what a BTF type is captured as (integer, string, address),
 * and the prototypes of functions and BTF tracepoints, for arguments by name.
 */
import { arrayCapture, type Btf, type FuncSignature } from "../kernel/btf/index.js";
import type { ScalarOrString } from "./types.js";

/** How the value is read: an integer, a string through a pointer, an array copied whole, or a pointer's address. */
export type BtfRead = "int" | "kernel_string" | "user_string" | "char_array" | "array" | "pointer";

export type BtfCapture =
  | { ok: true; type: ScalarOrString; read: BtfRead; enum?: EnumValues }
  | { ok: false; why: string };

/** An enum's values by name (`enum rw_hint`: WRITE_LIFE_NOT_SET = 0, ...), in BTF's order; `name` is "" when anonymous. */
export interface EnumValues {
  name: string;
  values: Array<{ value: bigint; name: string }>;
}

/** How a value of BTF type `id` is captured; `charSize` sizes strings read through a pointer. */
export function captureOf(btf: Btf, id: number, charSize: number): BtfCapture {
  const t = btf.type(btf.resolve(id));
  switch (t.kind) {
    case "int":
      if (t.bool) return { ok: true, type: { kind: "bool" }, read: "int" };
      if (![1, 2, 4, 8].includes(t.size)) return { ok: false, why: `a ${t.size * 8}-bit integer` };
      return { ok: true, type: { kind: "int", size: t.size as 1 | 2 | 4 | 8, signed: t.signed }, read: "int" };
    case "enum":
    case "enum64":
      return {
        ok: true, type: { kind: "int", size: (t.size === 8 ? 8 : t.size === 2 ? 2 : t.size === 1 ? 1 : 4) as 1 | 2 | 4 | 8, signed: false }, read: "int",
        enum: { name: t.name, values: t.values.map((v) => ({ value: BigInt(v.value), name: v.name })) },
      };
    case "ptr": {
      const target = btf.type(btf.resolve(t.type));
      if (target.kind === "int" && target.size === 1) {
        // The kernel marks user pointers with a "user" type tag when built with clang.
        return { ok: true, type: { kind: "string", size: charSize }, read: hasUserTag(btf, t.type) ? "user_string" : "kernel_string" };
      }
      return { ok: true, type: { kind: "int", size: 8, signed: false }, read: "pointer" };
    }
    case "array": {
      const c = arrayCapture(btf, t);
      if ("error" in c) return { ok: false, why: `${btf.describe(id)}: ${c.error}` };
      if (c.kind === "char_array") return { ok: true, type: { kind: "string", size: c.length }, read: "char_array" };
      if (c.kind !== "array") throw new Error("arrayCapture returned a non-array");
      return { ok: true, type: { kind: "array", element: { kind: "int", size: c.elementSize, signed: c.signed }, length: c.length }, read: "array" };
    }
    case "struct":
    case "union":
      return { ok: false, why: `a ${t.kind} by value (${btf.describe(id)}); name one of its members` };
    default:
      return { ok: false, why: `of kind ${t.kind} (${btf.describe(id)})` };
  }
}

function hasUserTag(btf: Btf, id: number): boolean {
  for (let cur = id, hops = 0; hops < 8; hops++) {
    const t = btf.type(cur);
    if (t.kind === "type_tag" && t.name === "user") return true;
    if (t.kind !== "type_tag" && t.kind !== "const" && t.kind !== "volatile" && t.kind !== "typedef" && t.kind !== "restrict") return false;
    cur = t.type;
  }
  return false;
}

/** The arguments a tp_btf program receives: the tracepoint function's, without its leading `void *`. */
export function tracepointProto(btf: Btf, name: string): FuncSignature | undefined {
  // The kernel's __bpf_trace_NAME() has the argument names; the btf_trace_NAME typedef only types.
  const named = btf.funcProto(`__bpf_trace_${name}`);
  if (named) return { ...named, params: named.params.slice(1) };
  const typedef = btf.findByName(`btf_trace_${name}`, "typedef");
  if (typedef === undefined) return undefined;
  const ptr = btf.type(btf.resolve(typedef));
  if (ptr.kind !== "ptr") return undefined;
  const proto = btf.type(btf.resolve(ptr.type));
  if (proto.kind !== "func_proto") return undefined;
  return { funcId: typedef, protoId: proto.id, linkage: "static", returnType: proto.returnType, params: proto.params.slice(1), variadic: false };
}

/** Names of BTF tracepoints (for suggestions). */
export function tracepointNames(btf: Btf): string[] {
  return btf.names("typedef").filter((n) => n.startsWith("btf_trace_")).map((n) => n.slice("btf_trace_".length));
}
