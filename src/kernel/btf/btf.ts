/**
 * A reader of the kernel's BTF (Documentation/bpf/btf.rst). Loading walks the type section once
 * to record where each type starts (one Uint32Array of offsets, no objects); the name index is
 * built on the first lookup by name; type objects are made when asked for and then cached.
 */
import { readFileSync } from "node:fs";
import { declaration } from "./describe.js";
import { elfSection } from "./elf.js";
import {
  BtfError, Kind, kindNames, type BtfMember, type BtfParam, type BtfType, type KindName, type Linkage,
} from "./types.js";

const MAGIC = 0xeb9f;
const HEADER_MIN = 24;
const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const linkages: Linkage[] = ["static", "global", "extern"];

/** Kinds that only add a name or a qualifier: resolve() looks through them. */
const transparent = new Set<number>([Kind.Typedef, Kind.Volatile, Kind.Const, Kind.Restrict, Kind.TypeTag]);

export interface FuncSignature {
  funcId: number;
  protoId: number;
  linkage: Linkage;
  returnType: number;
  params: BtfParam[];
  variadic: boolean;
}

export interface BtfOptions {
  /** For split BTF (a module's /sys/kernel/btf/NAME): the vmlinux BTF its ids continue. */
  base?: Btf;
}

export class Btf {
  /** The first type id this blob defines: 1, or the base's typeCount for split BTF. */
  readonly startId: number;
  /** One past the last valid id (ids run 0 = void .. typeCount - 1). */
  readonly typeCount: number;
  readonly base: Btf | undefined;
  private readonly words: Uint32Array;
  /** Word offset of each local type's record in `words`. */
  private readonly offsets: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly stringsStart: number;
  private readonly cache: Array<BtfType | undefined> = [];
  private byName: Map<string, number | number[]> | undefined;
  private decoded: string | undefined;
  private ptrSize: number | undefined;

  private constructor(bytes: Uint8Array, options: BtfOptions) {
    this.base = options.base;
    if (bytes.byteLength < HEADER_MIN) throw new BtfError("BTF is shorter than its header");
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = dv.getUint16(0, true) === MAGIC;
    if (!le && dv.getUint16(0, false) !== MAGIC) throw new BtfError(`bad BTF magic 0x${dv.getUint16(0, true).toString(16)}`);
    const version = dv.getUint8(2);
    if (version !== 1) throw new BtfError(`unsupported BTF version ${version}`);
    const hdrLen = dv.getUint32(4, le);
    const typeOff = dv.getUint32(8, le), typeLen = dv.getUint32(12, le);
    const strOff = dv.getUint32(16, le), strLen = dv.getUint32(20, le);
    if (hdrLen < HEADER_MIN || hdrLen + typeOff + typeLen > bytes.byteLength || hdrLen + strOff + strLen > bytes.byteLength) {
      throw new BtfError("BTF header describes sections outside the data");
    }
    if (typeLen % 4 !== 0) throw new BtfError("BTF type section length is not a multiple of 4");
    this.strings = bytes.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
    this.stringsStart = this.base ? this.base.stringsEnd() : 0;
    this.words = wordsOf(bytes, hdrLen + typeOff, typeLen / 4, le);
    this.startId = this.base ? this.base.typeCount : 1;
    this.offsets = scan(this.words, this.startId);
    this.typeCount = this.startId + this.offsets.length;
  }

  static fromBytes(bytes: Uint8Array, options: BtfOptions = {}): Btf {
    if (bytes.byteLength >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
      const section = elfSection(bytes, ".BTF");
      if (!section) throw new BtfError("the ELF file has no .BTF section (compile with clang -g)");
      return new Btf(section, options);
    }
    return new Btf(bytes, options);
  }

  /** A raw BTF file (/sys/kernel/btf/*, `bpftool btf dump ... format raw` input) or an ELF object with .BTF. */
  static fromFile(path = "/sys/kernel/btf/vmlinux", options: BtfOptions = {}): Btf {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new BtfError(`cannot read BTF from ${path}: ${(e as Error).message}`);
    }
    try {
      return Btf.fromBytes(bytes, options);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError(`${path}: ${e.message}`);
      throw e;
    }
  }

  /** The running kernel's BTF, or one module's split BTF over it. */
  static kernel(module?: string, dir = "/sys/kernel/btf"): Btf {
    const vmlinux = Btf.fromFile(`${dir}/vmlinux`);
    return module ? Btf.fromFile(`${dir}/${module}`, { base: vmlinux }) : vmlinux;
  }

  private stringsEnd(): number {
    return this.stringsStart + this.strings.byteLength;
  }

  /** The string at a string-section offset (split BTF offsets continue the base's). */
  str(offset: number): string {
    if (offset < this.stringsStart) return this.base!.str(offset);
    const start = offset - this.stringsStart;
    if (start >= this.strings.byteLength) throw new BtfError(`string offset ${offset} is outside the string section`);
    const text = this.text();
    const end = text.indexOf("\0", start);
    return text.slice(start, end < 0 ? text.length : end);
  }

  /**
   * The string section as one JS string, decoded once: slicing it is far cheaper than decoding
   * each name. Latin-1 keeps byte offsets equal to string offsets (names are C identifiers).
   */
  private text(): string {
    return (this.decoded ??= Buffer.from(this.strings.buffer, this.strings.byteOffset, this.strings.byteLength).toString("latin1"));
  }

  // ---- cheap accessors over the raw records (no allocation) ----

  private at(id: number): number {
    const local = id - this.startId;
    if (local < 0 || local >= this.offsets.length) throw new BtfError(`no BTF type with id ${id}`);
    return this.offsets[local]!;
  }

  /** The kind's number (see Kind). */
  kindOf(id: number): number {
    if (id === 0) return Kind.Void;
    if (id < this.startId) return this.base!.kindOf(id);
    return (this.words[this.at(id) + 1]! >>> 24) & 0x1f;
  }

  kindName(id: number): KindName {
    return kindNames[this.kindOf(id)]!;
  }

  nameOf(id: number): string {
    if (id === 0) return "void";
    if (id < this.startId) return this.base!.nameOf(id);
    const off = this.words[this.at(id)]!;
    return off === 0 ? "" : this.str(off);
  }

  /** The size/type word: the referenced type for ptr, typedef, qualifiers, func, var, decl/type tags. */
  private refOf(id: number): number {
    if (id < this.startId) return this.base!.refOf(id);
    return this.words[this.at(id) + 2]!;
  }

  /** Skips typedefs, const, volatile, restrict and type tags. */
  resolve(id: number): number {
    for (let guard = 0; guard < 256; guard++) {
      if (!transparent.has(this.kindOf(id))) return id;
      id = this.refOf(id);
    }
    throw new BtfError(`type ${id}: typedef/qualifier chain too long (a loop?)`);
  }

  /** Skips qualifiers and type tags but keeps typedef names (for C spelling). */
  skipQualifiers(id: number): number {
    for (;;) {
      const k = this.kindOf(id);
      if (k !== Kind.Const && k !== Kind.Volatile && k !== Kind.Restrict && k !== Kind.TypeTag) return id;
      id = this.refOf(id);
    }
  }

  // ---- objects ----

  type(id: number): BtfType {
    if (id === 0) return { kind: "void", id: 0, name: "" };
    if (id < this.startId) return this.base!.type(id);
    return (this.cache[id - this.startId] ??= this.materialise(id));
  }

  private materialise(id: number): BtfType {
    const w = this.words;
    const o = this.at(id);
    const name = w[o] === 0 ? "" : this.str(w[o]!);
    const info = w[o + 1]!;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const sizeOrType = w[o + 2]!;
    const d = o + 3; // first word after the common record
    switch ((info >>> 24) & 0x1f) {
      case Kind.Int: {
        const enc = w[d]!;
        const e = (enc >>> 24) & 0xf;
        return { kind: "int", id, name, size: sizeOrType, signed: (e & 1) !== 0, char: (e & 2) !== 0, bool: (e & 4) !== 0,
          bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff };
      }
      case Kind.Ptr: return { kind: "ptr", id, name, type: sizeOrType };
      case Kind.Array: return { kind: "array", id, name, type: w[d]!, indexType: w[d + 1]!, nelems: w[d + 2]! };
      case Kind.Struct:
      case Kind.Union: {
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const m = d + i * 3;
          const off = w[m + 2]!;
          members[i] = {
            name: w[m] === 0 ? "" : this.str(w[m]!), type: w[m + 1]!,
            // With kind_flag the offset word packs bitfield size (high 8 bits) and bit offset.
            bitOffset: kindFlag ? off & 0xffffff : off, bitfieldSize: kindFlag ? off >>> 24 : 0,
          };
        }
        return { kind: ((info >>> 24) & 0x1f) === Kind.Struct ? "struct" : "union", id, name, size: sizeOrType, members };
      }
      case Kind.Enum: {
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const raw = w[d + i * 2 + 1]!;
          values.push({ name: this.str(w[d + i * 2]!), value: kindFlag ? raw | 0 : raw >>> 0 });
        }
        return { kind: "enum", id, name, size: sizeOrType, signed: kindFlag, values };
      }
      case Kind.Enum64: {
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const m = d + i * 3;
          const u = (BigInt(w[m + 2]!) << 32n) | BigInt(w[m + 1]!);
          values.push({ name: this.str(w[m]!), value: kindFlag ? BigInt.asIntN(64, u) : u });
        }
        return { kind: "enum64", id, name, size: sizeOrType, signed: kindFlag, values };
      }
      case Kind.Fwd: return { kind: "fwd", id, name, union: kindFlag };
      case Kind.Typedef: return { kind: "typedef", id, name, type: sizeOrType };
      case Kind.Volatile: return { kind: "volatile", id, name, type: sizeOrType };
      case Kind.Const: return { kind: "const", id, name, type: sizeOrType };
      case Kind.Restrict: return { kind: "restrict", id, name, type: sizeOrType };
      case Kind.TypeTag: return { kind: "type_tag", id, name, type: sizeOrType };
      case Kind.Func: return { kind: "func", id, name, type: sizeOrType, linkage: linkages[vlen] ?? "static" };
      case Kind.FuncProto: {
        const params: BtfParam[] = [];
        let variadic = false;
        for (let i = 0; i < vlen; i++) {
          const pName = w[d + i * 2]!, pType = w[d + i * 2 + 1]!;
          // A last parameter of type void with no name marks "...".
          if (i === vlen - 1 && pType === 0 && pName === 0) variadic = true;
          else params.push({ name: pName === 0 ? "" : this.str(pName), type: pType });
        }
        return { kind: "func_proto", id, name, returnType: sizeOrType, params, variadic };
      }
      case Kind.Var: return { kind: "var", id, name, type: sizeOrType, linkage: linkages[w[d]!] ?? "static" };
      case Kind.Datasec: {
        const vars = [];
        for (let i = 0; i < vlen; i++) vars.push({ type: w[d + i * 3]!, offset: w[d + i * 3 + 1]!, size: w[d + i * 3 + 2]! });
        return { kind: "datasec", id, name, size: sizeOrType, vars };
      }
      case Kind.Float: return { kind: "float", id, name, size: sizeOrType };
      case Kind.DeclTag: return { kind: "decl_tag", id, name, type: sizeOrType, componentIdx: w[d]! | 0 };
      default: throw new BtfError(`type ${id} has unknown kind ${(info >>> 24) & 0x1f}`);
    }
  }

  // ---- lookups by name ----

  private index(): Map<string, number | number[]> {
    if (this.byName) return this.byName;
    const map = new Map<string, number | number[]>();
    const w = this.words, offsets = this.offsets;
    for (let i = 0; i < offsets.length; i++) {
      const off = w[offsets[i]!]!;
      if (off !== 0) add(map, this.str(off), this.startId + i);
    }
    return (this.byName = map);
  }

  /** All ids with this name (of this kind, if given), in id order, this blob's then the base's. */
  findAllByName(name: string, kind?: KindName): number[] {
    const hit = this.index().get(name);
    const ids = hit === undefined ? [] : typeof hit === "number" ? [hit] : hit;
    const mine = kind === undefined ? ids : ids.filter((id) => this.kindName(id) === kind);
    return this.base ? [...mine, ...this.base.findAllByName(name, kind)] : mine;
  }

  /**
   * The first type with this name (and kind). Without a kind, definitions win over forward
   * declarations, and types over functions, variables and tags.
   */
  findByName(name: string, kind?: KindName): number | undefined {
    const ids = this.findAllByName(name, kind);
    if (kind !== undefined || ids.length <= 1) return ids[0];
    const rank = (id: number) => {
      const k = this.kindOf(id);
      return k === Kind.Fwd ? 1 : k === Kind.Func || k === Kind.Var ? 2 : k === Kind.DeclTag || k === Kind.TypeTag ? 3 : 0;
    };
    return ids.reduce((best, id) => (rank(id) < rank(best) ? id : best));
  }

  /** Every name in the index (for "did you mean"). */
  names(kind?: KindName): string[] {
    const out: string[] = [];
    for (const [name, hit] of this.index()) {
      if (kind === undefined || (typeof hit === "number" ? [hit] : hit).some((id) => this.kindName(id) === kind)) out.push(name);
    }
    return this.base ? [...out, ...this.base.names(kind)] : out;
  }

  // ---- questions the compiler asks ----

  /** The members of a struct or union (through typedefs and qualifiers). */
  members(id: number): BtfMember[] {
    const t = this.type(this.resolve(id));
    if (t.kind !== "struct" && t.kind !== "union") throw new BtfError(`${this.describe(id)} is not a struct or union`);
    return t.members;
  }

  /** Pointer size: 8 unless the BTF's `long` says otherwise (a 32-bit kernel). */
  pointerSize(): number {
    if (this.ptrSize === undefined) {
      const long = this.findByName("long int", "int") ?? this.findByName("long unsigned int", "int");
      this.ptrSize = long === undefined ? 8 : (this.type(long) as { size: number }).size;
    }
    return this.ptrSize;
  }

  /** Size in bytes of a value of this type. */
  sizeOf(id: number): number {
    const r = this.resolve(id);
    const t = this.type(r);
    switch (t.kind) {
      case "int": case "float": case "struct": case "union": case "enum": case "enum64": case "datasec":
        return t.size;
      case "ptr": return this.pointerSize();
      case "array": return t.nelems * this.sizeOf(t.type);
      case "var": return this.sizeOf(t.type);
      default: throw new BtfError(`${this.describe(id)} (${t.kind}) has no size`);
    }
  }

  /** A kernel function's parameters and return type, from its FUNC and FUNC_PROTO. */
  funcProto(funcName: string): FuncSignature | undefined {
    const funcId = this.findByName(funcName, "func");
    if (funcId === undefined) return undefined;
    const func = this.type(funcId);
    if (func.kind !== "func") return undefined;
    const proto = this.type(func.type);
    if (proto.kind !== "func_proto") throw new BtfError(`func ${funcName} does not point at a FUNC_PROTO`);
    return { funcId, protoId: proto.id, linkage: func.linkage, returnType: proto.returnType, params: proto.params, variadic: proto.variadic };
  }

  /** C spelling of a type: "struct task_struct *", "const char *", "char [16]", "int (*)(void *)". */
  describe(id: number): string {
    return declaration(this, id, "");
  }
}

function add(map: Map<string, number | number[]>, name: string, id: number): void {
  const prev = map.get(name);
  if (prev === undefined) map.set(name, id);
  else if (typeof prev === "number") map.set(name, [prev, id]);
  else prev.push(id);
}

/** The type section as host-order words: a view when aligned and same-endian, else a copy. */
function wordsOf(bytes: Uint8Array, start: number, count: number, le: boolean): Uint32Array {
  const at = bytes.byteOffset + start;
  if (le === hostLittleEndian && at % 4 === 0) return new Uint32Array(bytes.buffer, at, count);
  const dv = new DataView(bytes.buffer, at, count * 4);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getUint32(i * 4, le);
  return out;
}

/** Words each kind adds after the common 3-word record, per vlen item or fixed. */
function extraWords(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.Int: case Kind.Var: case Kind.DeclTag: return 1;
    case Kind.Array: return 3;
    case Kind.Struct: case Kind.Union: case Kind.Datasec: case Kind.Enum64: return 3 * vlen;
    case Kind.Enum: case Kind.FuncProto: return 2 * vlen;
    case Kind.Ptr: case Kind.Fwd: case Kind.Typedef: case Kind.Volatile: case Kind.Const: case Kind.Restrict:
    case Kind.Func: case Kind.Float: case Kind.TypeTag: return 0;
    default: return -1;
  }
}

function scan(words: Uint32Array, startId: number): Uint32Array {
  let offsets = new Uint32Array(Math.max(16, words.length >>> 3));
  let n = 0;
  for (let o = 0; o < words.length;) {
    if (o + 3 > words.length) throw new BtfError(`type ${startId + n} is truncated`);
    const info = words[o + 1]!;
    const extra = extraWords((info >>> 24) & 0x1f, info & 0xffff);
    if (extra < 0) throw new BtfError(`type ${startId + n} has unknown kind ${(info >>> 24) & 0x1f}`);
    if (n === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[n++] = o;
    o += 3 + extra;
    if (o > words.length) throw new BtfError(`type ${startId + n - 1} runs past the type section`);
  }
  return offsets.subarray(0, n);
}
