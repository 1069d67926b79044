/** A small BTF compiled by clang in the test: every kind is read back as the C declared it. */
import { beforeAll, describe, expect, it } from "vitest";
import { Btf, elfSection, type BtfType } from "../../src/kernel/btf/index.js";
import { compileBpf, hasClang, scratch } from "./helpers.js";

const source = `
typedef unsigned int u32;
typedef unsigned long long u64;
enum color { RED = 1, GREEN = -2, BLUE = 7 };
enum big { HUGE = 0x100000000ULL, SMALL = 1 };
struct inner { char name[16]; u32 id; };
struct flags { unsigned int a : 3, b : 5; int c : 9; unsigned long long d; };
union value { u32 word; char bytes[4]; };
struct node {
  struct node *next;
  const volatile u32 cv;
  struct inner in;
  union { int x; long y; };
  struct flags fl;
  union value val;
  enum color color;
  int (*cb)(struct node *, int);
  int __attribute__((btf_type_tag("user"))) *uptr;
  int tagged __attribute__((btf_decl_tag("member_tag")));
  float f;
};
struct opaque;
struct holder { struct opaque *o; };
int counter __attribute__((section(".data")));
__attribute__((btf_decl_tag("func_tag")))
int __attribute__((noinline)) fn(struct node *restrict n, enum big b, struct holder *h) { return n->cv + (int)b + (h != 0); }
int entry(struct node *n) { counter++; return fn(n, HUGE, 0); }
`;

let btf: Btf;
const byName = (name: string, kind?: Parameters<Btf["findByName"]>[1]): BtfType => {
  const id = btf.findByName(name, kind);
  if (id === undefined) throw new Error(`no ${kind ?? ""} ${name}`);
  return btf.type(id);
};

describe.skipIf(!hasClang)("BTF compiled by clang", () => {
  beforeAll(() => {
    btf = Btf.fromBytes(compileBpf(scratch(), "kinds", source));
  });

  it("reads ints and typedefs", () => {
    expect(byName("u32")).toMatchObject({ kind: "typedef" });
    expect(btf.type(btf.resolve(byName("u32").id))).toMatchObject({ kind: "int", name: "unsigned int", size: 4, signed: false });
    // clang encodes plain char as a signed 1-byte int (no CHAR bit).
    expect(byName("char", "int")).toMatchObject({ size: 1 });
    expect(byName("float", "float")).toMatchObject({ size: 4 });
  });

  it("reads structs, unions, anonymous members and arrays", () => {
    const node = byName("node", "struct");
    if (node.kind !== "struct") throw new Error();
    expect(node.members.map((m) => m.name)).toEqual(["next", "cv", "in", "", "fl", "val", "color", "cb", "uptr", "tagged", "f"]);
    const at = (n: string) => node.members.find((m) => m.name === n)!;
    expect(btf.describe(at("next").type)).toBe("struct node *");
    expect(btf.describe(at("cv").type)).toBe("const volatile u32");
    expect(btf.describe(at("cb").type)).toBe("int (*)(struct node *, int)");
    expect(btf.describe(at("uptr").type)).toBe("int *");
    expect(btf.kindName(btf.type(at("uptr").type).kind === "ptr" ? (btf.type(at("uptr").type) as { type: number }).type : 0)).toBe("type_tag");
    expect(at("in").bitOffset).toBe(96);
    const inner = byName("inner", "struct");
    expect(inner.kind === "struct" && btf.describe(inner.members[0]!.type)).toBe("char[16]");
    const arr = btf.type(inner.kind === "struct" ? inner.members[0]!.type : 0);
    expect(arr).toMatchObject({ kind: "array", nelems: 16 });
    expect(byName("value", "union")).toMatchObject({ kind: "union", size: 4 });
    const anon = btf.type(node.members[3]!.type);
    expect(anon).toMatchObject({ kind: "union", name: "" });
    expect(btf.sizeOf(node.id)).toBe((node as { size: number }).size);
  });

  it("reads bitfields (kind_flag offsets and sizes)", () => {
    const fl = byName("flags", "struct");
    if (fl.kind !== "struct") throw new Error();
    expect(fl.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize])).toEqual([["a", 0, 3], ["b", 3, 5], ["c", 8, 9], ["d", 64, 0]]);
  });

  it("reads enums, signed values and enum64", () => {
    const color = byName("color", "enum");
    if (color.kind !== "enum") throw new Error();
    expect(color.size).toBe(4);
    expect(color.values.map((v) => v.name)).toEqual(["RED", "GREEN", "BLUE"]);
    // clang 14 leaves kind_flag (signedness) clear, so -2 reads back as its u32 bits.
    expect(color.values.map((v) => v.value | 0)).toEqual([1, -2, 7]);
    expect(color.signed ? color.values[1]!.value : color.values[1]!.value | 0).toBe(-2);
    // clang 14 predates ENUM64 (clang 15 emits it); it writes an 8-byte ENUM instead.
    const big = btf.findByName("big", "enum64") ?? btf.findByName("big", "enum");
    expect(btf.type(big!)).toMatchObject({ size: 8 });
  });

  it("reads forward declarations, functions, prototypes, restrict", () => {
    expect(byName("opaque", "fwd")).toMatchObject({ kind: "fwd", union: false });
    expect(byName("fn", "func")).toMatchObject({ kind: "func", linkage: "global" });
    const sig = btf.funcProto("fn")!;
    expect(sig.params.map((p) => `${btf.describe(p.type)}|${p.name}`)).toEqual(["struct node *restrict|n", "enum big|b", "struct holder *|h"]);
    expect(btf.describe(sig.returnType)).toBe("int");
    expect(btf.describe(sig.protoId)).toBe("int(struct node *restrict n, enum big b, struct holder *h)".replace("int(", "int (") );
  });

  it("reads decl tags on a member and on a function, and type tags", () => {
    const tags: BtfType[] = [];
    for (let id = 1; id < btf.typeCount; id++) if (btf.kindName(id) === "decl_tag") tags.push(btf.type(id));
    const member = tags.find((t) => t.name === "member_tag");
    expect(member).toMatchObject({ kind: "decl_tag", type: byName("node", "struct").id, componentIdx: 9 });
    expect(tags.find((t) => t.name === "func_tag")).toMatchObject({ type: byName("fn", "func").id, componentIdx: -1 });
    expect(byName("user", "type_tag")).toMatchObject({ kind: "type_tag" });
  });

  it("reads variables and data sections", () => {
    expect(byName("counter", "var")).toMatchObject({ kind: "var", linkage: "global" });
    const data = byName(".data", "datasec");
    expect(data.kind === "datasec" && data.vars.map((v) => btf.nameOf(v.type))).toEqual(["counter"]);
  });

  it("finds the .BTF section in the ELF object itself", () => {
    const obj = compileBpf(scratch(), "kinds2", source);
    const section = elfSection(obj, ".BTF")!;
    expect(section[0] | (section[1]! << 8)).toBe(0xeb9f);
    expect(Btf.fromBytes(section).typeCount).toBe(btf.typeCount);
    expect(elfSection(obj, ".no_such_section")).toBeUndefined();
  });
});

if (!hasClang) console.warn("[btf] SKIP: clang is not installed; the clang-compiled BTF tests do not run");

/** A hand-made BTF blob: ENUM64 with kind_flag, in either byte order. */
function enum64Blob(littleEndian: boolean): Uint8Array {
  const strings = "\0big\0HUGE\0NEG\0";
  const at = (s: string) => strings.indexOf(`\0${s}\0`) + 1;
  const words = [
    at("big"), (19 << 24) | (1 << 31) | 2, 8, // ENUM64, kind_flag (signed), vlen 2, size 8
    at("HUGE"), 0, 1, // 1 << 32
    at("NEG"), 0xffffffff, 0xffffffff, // -1
  ];
  const typeLen = words.length * 4;
  const buf = new DataView(new ArrayBuffer(24 + typeLen + strings.length));
  buf.setUint16(0, 0xeb9f, littleEndian);
  buf.setUint8(2, 1);
  buf.setUint32(4, 24, littleEndian);
  buf.setUint32(8, 0, littleEndian);
  buf.setUint32(12, typeLen, littleEndian);
  buf.setUint32(16, typeLen, littleEndian);
  buf.setUint32(20, strings.length, littleEndian);
  words.forEach((w, i) => buf.setUint32(24 + i * 4, w >>> 0, littleEndian));
  for (let i = 0; i < strings.length; i++) buf.setUint8(24 + typeLen + i, strings.charCodeAt(i));
  return new Uint8Array(buf.buffer);
}

describe("ENUM64 and byte order", () => {
  for (const le of [true, false]) {
    it(`reads a signed ENUM64 (${le ? "little" : "big"}-endian BTF)`, () => {
      const b = Btf.fromBytes(enum64Blob(le));
      expect(b.type(1)).toEqual({ kind: "enum64", id: 1, name: "big", size: 8, signed: true,
        values: [{ name: "HUGE", value: 1n << 32n }, { name: "NEG", value: -1n }] });
      expect(b.describe(1)).toBe("enum big");
      expect(b.sizeOf(1)).toBe(8);
    });
  }
});
