/**
 * A minimal C header for one probe: only the kernel types it uses, instead of all of vmlinux.h.
 *
 * - define(id): the type's complete definition (and of everything it holds by value).
 * - declare(id): only what is needed to name it: a pointer's target is a forward declaration.
 * - path(root, steps): each struct a member path reads is defined; with `trim` (the default)
 *   such a struct keeps only the members paths use, padded so every offset and size stays BTF's.
 *
 * Records get preserve_access_index (one pragma around the header), so every member access is a
 * CO-RE relocation and the object runs on kernels whose layouts differ.
 */
import type { Btf } from "./btf.js";
import { declaration } from "./describe.js";
import { LayoutPlanner } from "./layout.js";
import type { PathStep } from "./path.js";
import type { BtfMember } from "./types.js";

export interface HeaderOptions {
  /**
   * Types the caller's own includes define, not to be defined again: "struct pt_regs",
   * "union bpf_attr", "enum bpf_map_type", or a typedef's bare name. They are still forward
   * declared where a pointer needs it.
   */
  provided?: Iterable<string>;
  /** Emit the __u8.. __s64, __be*, __le*, __wsum, __sum16 typedefs (same types as <linux/types.h>). Default true. */
  prelude?: boolean;
  /** Path-only structs keep only the members paths read (default true). */
  trim?: boolean;
}

/** Typedefs identical to <linux/types.h>'s: C11 allows them to be repeated, so either order works. */
const prelude: Array<[string, string]> = [
  ["__s8", "signed char"], ["__u8", "unsigned char"], ["__s16", "short"], ["__u16", "unsigned short"],
  ["__s32", "int"], ["__u32", "unsigned int"], ["__s64", "long long"], ["__u64", "unsigned long long"],
  ["__le16", "__u16"], ["__be16", "__u16"], ["__le32", "__u32"], ["__be32", "__u32"],
  ["__le64", "__u64"], ["__be64", "__u64"], ["__sum16", "__u16"], ["__wsum", "__u32"],
];

const keywords = new Set(("auto break case char const continue default do double else enum extern float for goto if " +
  "inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void " +
  "volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert " +
  "_Thread_local asm typeof __typeof__ __attribute__ __asm__ __inline__ __restrict__ __extension__").split(" "));

export class HeaderBuilder {
  private readonly layout: LayoutPlanner;
  private readonly provided: Set<string>;
  private readonly options: Required<Omit<HeaderOptions, "provided">>;
  /** Named structs/unions/enums that must be defined in full / only the listed members. */
  private readonly full = new Set<number>();
  private readonly used = new Map<number, Set<string>>();
  private readonly declared = new Set<number>();

  constructor(private readonly btf: Btf, options: HeaderOptions = {}) {
    this.layout = new LayoutPlanner(btf);
    this.provided = new Set(options.provided ?? []);
    this.options = { prelude: options.prelude ?? true, trim: options.trim ?? true };
  }

  define(id: number): this {
    this.full.add(id);
    return this;
  }

  declare(id: number): this {
    this.declared.add(id);
    return this;
  }

  /** The structs a resolved member path (resolvePath's steps) reads from. */
  path(root: number, steps: readonly PathStep[]): this {
    this.declared.add(root);
    for (const step of steps) {
      let set = this.used.get(step.container);
      if (!set) this.used.set(step.container, (set = new Set()));
      set.add(step.name);
      // The last member's type is what gets read: name it (pointers stay forward declared).
      this.declared.add(step.type);
    }
    return this;
  }

  /** A kernel function's parameter and return types, as a kprobe or fentry program names them. */
  funcArgs(funcName: string): this {
    const sig = this.btf.funcProto(funcName);
    if (!sig) throw new Error(`the BTF has no function '${funcName}'`);
    return this.declare(sig.protoId);
  }

  emit(): string {
    return new Printer(this.btf, this.layout, this.provided, this.options, this.full, this.used).print(this.declared);
  }
}

/** One emission: decides names, orders definitions before their uses, prints. */
class Printer {
  private readonly forwards = new Map<number, string>(); // id -> "struct foo"
  private readonly enums: string[] = [];
  private readonly body: string[] = [];
  private readonly state = new Map<number, "busy" | "done">();
  private readonly tagNames = new Map<number, string>();
  private readonly takenTags = new Map<string, number>();
  private readonly takenOrdinary = new Map<string, number>();

  constructor(
    private readonly btf: Btf,
    private readonly layout: LayoutPlanner,
    private readonly provided: Set<string>,
    private readonly options: { prelude: boolean; trim: boolean },
    private readonly full: Set<number>,
    private readonly used: Map<number, Set<string>>,
  ) {
    if (options.prelude) for (const [name] of prelude) this.takenOrdinary.set(name, -1);
  }

  print(declared: Set<number>): string {
    for (const id of this.full) this.ensure(id, true);
    for (const id of this.used.keys()) this.ensure(id, true);
    for (const id of declared) this.ensure(id, false);
    const out = ["/* Kernel types from BTF, only those this program uses (generated by probegen). */"];
    if (this.options.prelude) out.push(...prelude.map(([n, t]) => `typedef ${t} ${n};`), "");
    out.push("#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)", "");
    if (this.forwards.size) out.push(...[...this.forwards.values()].map((f) => `${f};`), "");
    if (this.enums.length) out.push(...this.enums.map((e) => `${e}\n`));
    out.push(...this.body.map((b) => `${b}\n`));
    out.push("#pragma clang attribute pop", "");
    return out.join("\n");
  }

  /** Make `id` spellable here: emitted before this point, and complete when held by value. */
  private ensure(id: number, complete: boolean): void {
    const btf = this.btf;
    const t = btf.type(id);
    switch (t.kind) {
      case "ptr": return this.ensure(t.type, false);
      case "const": case "volatile": case "restrict": case "type_tag": return this.ensure(t.type, complete);
      case "array": return this.ensure(t.type, true);
      case "func_proto":
        this.ensure(t.returnType, false);
        for (const p of t.params) this.ensure(p.type, false);
        return;
      case "func": case "var": return this.ensure(t.type, false);
      case "fwd": this.forward(id); return;
      case "typedef":
        this.typedef(id);
        if (complete) this.ensure(t.type, true);
        return;
      case "enum": case "enum64":
        if (t.name) this.enumDefinition(id);
        return;
      case "struct": case "union":
        if (!t.name) {
          // Anonymous: printed inline where used, so what its members need is needed here.
          for (const m of this.keptMembers(id)) this.ensure(m.type, true);
          return;
        }
        this.forward(id);
        if (complete || this.full.has(id) || this.used.has(id)) this.composite(id);
        return;
      default: return;
    }
  }

  private forward(id: number): void {
    const t = this.btf.type(id);
    const tag = t.kind === "fwd" ? (t.union ? "union" : "struct") : t.kind === "union" ? "union" : "struct";
    if (!this.forwards.has(id)) this.forwards.set(id, `${tag} ${this.tagName(id)}`);
  }

  private typedef(id: number): void {
    if (this.state.has(id)) return;
    this.state.set(id, "busy");
    const t = this.btf.type(id);
    if (t.kind !== "typedef") return;
    const name = this.ordinaryName(id, t.name);
    if (this.options.prelude && prelude.some(([n]) => n === t.name)) {
      this.state.set(id, "done");
      return;
    }
    this.ensure(t.type, false);
    if (!this.provided.has(t.name)) this.body.push(`typedef ${this.decl(t.type, name)};`);
    this.state.set(id, "done");
  }

  private enumDefinition(id: number): void {
    if (this.state.has(id)) return;
    this.state.set(id, "done");
    const t = this.btf.type(id);
    if ((t.kind !== "enum" && t.kind !== "enum64") || this.provided.has(`enum ${t.name}`)) return;
    this.enums.push(`${this.enumBody(id)};`);
  }

  private enumBody(id: number): string {
    const t = this.btf.type(id);
    if (t.kind !== "enum" && t.kind !== "enum64") return "";
    const head = t.name ? `enum ${this.tagName(id)}` : "enum";
    const values = t.values.map((v) => `\t${this.ordinaryName(-1, v.name)} = ${enumLiteral(v.value, t.kind === "enum64", t.signed)},`);
    // An enum smaller than int was declared packed; BTF only keeps the size.
    const attr = t.size < 4 ? " __attribute__((packed))" : "";
    return values.length ? `${head} {\n${values.join("\n")}\n}${attr}` : `${head} { __pg_empty_${id} }${attr}`;
  }

  private composite(id: number): void {
    const t = this.btf.type(id);
    if (t.kind !== "struct" && t.kind !== "union") return;
    if (this.state.has(id) || this.provided.has(`${t.kind} ${t.name}`)) return;
    this.state.set(id, "busy");
    for (const m of this.keptMembers(id)) this.ensure(m.type, true);
    this.body.push(`${this.compositeBody(id)};`);
    this.state.set(id, "done");
  }

  /** Members to print: all, or when trimming a path-only struct, those on paths (and the anonymous members holding them). */
  private keptMembers(id: number, used = this.usedOf(id)): BtfMember[] {
    const all = this.layout.members(id);
    if (!used) return all;
    return all.filter((m) => (m.name !== "" ? used.has(m.name) : this.holdsAny(m.type, used)));
  }

  private usedOf(id: number): Set<string> | undefined {
    if (!this.options.trim || this.full.has(id)) return undefined;
    return this.used.get(id) ?? this.anonUsed.get(id);
  }

  /** Names used through an anonymous member belong to its anonymous type too. */
  private readonly anonUsed = new Map<number, Set<string>>();

  private holdsAny(type: number, used: Set<string>): boolean {
    const r = this.btf.resolve(type);
    const k = this.btf.kindName(r);
    if (k !== "struct" && k !== "union") return false;
    const hit = this.layout.members(r).some((m) => (m.name !== "" ? used.has(m.name) : this.holdsAny(m.type, used)));
    if (hit) this.anonUsed.set(r, used);
    return hit;
  }

  private compositeBody(id: number): string {
    const t = this.btf.type(id);
    if (t.kind !== "struct" && t.kind !== "union") return "";
    const members = this.keptMembers(id);
    const { packed, items } = this.layout.layout(id, members);
    const lines: string[] = [];
    for (const item of items) {
      if (item.kind === "pad") {
        // Numbered across the header: an anonymous member's padding shares its parent's namespace.
        lines.push(item.bytes ? `char __pg_pad${this.padN++}[${item.bytes}];` : `unsigned char : ${item.bits};`);
        continue;
      }
      const m = item.member;
      const name = m.name === "" ? "" : keywords.has(m.name) ? `${m.name}___pg` : m.name;
      lines.push(`${this.decl(m.type, name)}${m.bitfieldSize ? ` : ${m.bitfieldSize}` : ""};`);
    }
    const head = t.name ? `${t.kind} ${this.tagName(id)}` : t.kind;
    const body = lines.map((l) => `\t${l.replaceAll("\n", "\n\t")}`).join("\n");
    return `${head} {${body ? `\n${body}\n` : ""}}${packed ? " __attribute__((packed))" : ""}`;
  }

  private decl(id: number, name: string): string {
    return declaration(this.btf, id, name, { nameOf: (x) => this.spell(x) });
  }

  /** How a type is named in a declaration; anonymous bodies are printed in place. */
  private spell(id: number): string | undefined {
    const t = this.btf.type(id);
    switch (t.kind) {
      case "struct": case "union": return t.name ? `${t.kind} ${this.tagName(id)}` : this.compositeBody(id);
      case "enum": case "enum64": return t.name ? `enum ${this.tagName(id)}` : this.enumBody(id);
      case "fwd": return `${t.union ? "union" : "struct"} ${this.tagName(id)}`;
      case "typedef": return this.ordinaryName(id, t.name);
      default: return undefined;
    }
  }

  /** Tags share one namespace; a second, different type of the same name gets a ___N suffix (CO-RE ignores it). */
  private tagName(id: number): string {
    let name = this.tagNames.get(id);
    if (name !== undefined) return name;
    const t = this.btf.type(id);
    const base = keywords.has(t.name) ? `${t.name}___pg` : t.name;
    name = base;
    for (let n = 2; this.takenTags.has(name) && !this.sameTag(this.takenTags.get(name)!, id); n++) name = `${base}___${n}`;
    this.takenTags.set(name, id);
    this.tagNames.set(id, name);
    return name;
  }

  /** A fwd and the struct it declares are one C tag. */
  private sameTag(a: number, b: number): boolean {
    const ka = this.btf.kindName(a), kb = this.btf.kindName(b);
    return a === b || ((ka === "fwd") !== (kb === "fwd") && this.btf.nameOf(a) === this.btf.nameOf(b));
  }

  private readonly ordinaryNames = new Map<number, string>();
  private padN = 0;

  /** Typedef names and enumerators share C's ordinary namespace; later clashes get ___N. */
  private ordinaryName(id: number, name: string): string {
    if (id >= 0) {
      const known = this.ordinaryNames.get(id);
      if (known !== undefined) return known;
    }
    const base = keywords.has(name) ? `${name}___pg` : name;
    let out = base;
    for (let n = 2; this.takenOrdinary.has(out) && !(id >= 0 && this.sameTypedef(this.takenOrdinary.get(out)!, id)); n++) out = `${base}___${n}`;
    this.takenOrdinary.set(out, id);
    if (id >= 0) this.ordinaryNames.set(id, out);
    return out;
  }

  private sameTypedef(a: number, b: number): boolean {
    return a === b || (a === -1 && prelude.some(([n]) => n === this.btf.nameOf(b)));
  }
}

function enumLiteral(value: number | bigint, wide: boolean, signed: boolean): string {
  const v = BigInt(value);
  if (wide) return v < 0n ? `${v}LL` : `${v}ULL`;
  if (v < 0n) return String(v);
  return !signed && v > 0x7fffffffn ? `${v}U` : String(v);
}

/** The header for a set of roots in one call. */
export function emitHeader(btf: Btf, roots: { define?: number[]; declare?: number[]; paths?: Array<{ root: number; steps: PathStep[] }> }, options: HeaderOptions = {}): string {
  const b = new HeaderBuilder(btf, options);
  for (const id of roots.define ?? []) b.define(id);
  for (const id of roots.declare ?? []) b.declare(id);
  for (const p of roots.paths ?? []) b.path(p.root, p.steps);
  return b.emit();
}
