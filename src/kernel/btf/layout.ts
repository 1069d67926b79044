/**
 * Where the C we print would put each member, so the header can keep BTF's offsets exactly:
 * gaps become explicit padding, and a struct whose members sit below their natural alignment
 * is printed packed. Alignment follows what we print (a packed struct aligns to 1).
 */
import type { Btf } from "./btf.js";
import type { BtfMember } from "./types.js";

export type LayoutItem =
  | { kind: "member"; member: BtfMember }
  /** Unnamed padding: `bits` of anonymous bitfield (under a byte) or a char array (whole bytes). */
  | { kind: "pad"; bits: number; bytes: number };

export interface Layout {
  packed: boolean;
  items: LayoutItem[];
}

export class LayoutPlanner {
  private readonly packed = new Map<number, boolean>();

  constructor(private readonly btf: Btf) {}

  /** Members as C sees them: old-style int bitfields (no kind_flag) folded into bitfield form. */
  members(id: number): BtfMember[] {
    return this.btf.members(id).map((m) => {
      if (m.bitfieldSize !== 0) return m;
      const t = this.btf.type(this.btf.resolve(m.type));
      if (t.kind === "int" && t.bits !== 0 && t.bits !== t.size * 8) return { ...m, bitOffset: m.bitOffset + t.bitOffset, bitfieldSize: t.bits };
      return m;
    });
  }

  alignOf(id: number): number {
    const t = this.btf.type(this.btf.resolve(id));
    switch (t.kind) {
      case "int": case "float": case "enum": case "enum64": return Math.min(t.size, 16) || 1;
      case "ptr": return this.btf.pointerSize();
      case "array": return this.alignOf(t.type);
      case "struct": case "union": {
        if (this.isPacked(t.id)) return 1;
        let a = 1;
        for (const m of this.members(t.id)) if (m.name !== "" || m.bitfieldSize === 0) a = Math.max(a, this.alignOf(m.type));
        return a;
      }
      default: return 1;
    }
  }

  isPacked(id: number): boolean {
    let p = this.packed.get(id);
    if (p === undefined) {
      this.packed.set(id, false); // provisional: a struct cannot contain itself by value
      p = this.plan(id, this.members(id), false) === undefined;
      this.packed.set(id, p);
    }
    return p;
  }

  /** The items to print for `members` (a subset of the struct's, when trimming) at BTF's offsets. */
  layout(id: number, members: BtfMember[]): Layout {
    const packed = this.isPacked(id);
    return { packed, items: this.plan(id, members, packed) ?? this.plan(id, members, true)! };
  }

  /** undefined: natural alignment cannot give these offsets (the struct must be packed). */
  private plan(id: number, members: BtfMember[], packed: boolean): LayoutItem[] | undefined {
    const t = this.btf.type(id);
    if (t.kind !== "struct" && t.kind !== "union") return [];
    const items: LayoutItem[] = [];
    let maxAlign = 1;
    let end = 0; // bits
    if (t.kind === "union") {
      for (const m of members) {
        const size = m.bitfieldSize || this.btf.sizeOf(m.type) * 8;
        if (!packed) maxAlign = Math.max(maxAlign, this.alignOf(m.type));
        items.push({ kind: "member", member: m });
        end = Math.max(end, size);
      }
      if (end < t.size * 8) items.push(...pad(0, t.size * 8));
      end = Math.max(end, t.size * 8);
    } else {
      let cur = 0;
      for (const m of members) {
        const a = packed ? 1 : this.alignOf(m.type);
        if (m.bitfieldSize !== 0) {
          const unit = this.btf.sizeOf(m.type) * 8;
          if (m.bitOffset < cur) return packed ? items : undefined;
          // A bitfield may not straddle a unit of its type unless the struct is packed.
          if (!packed && Math.floor(m.bitOffset / unit) !== Math.floor((m.bitOffset + m.bitfieldSize - 1) / unit)) return undefined;
          items.push(...pad(cur, m.bitOffset));
          if (m.name !== "") maxAlign = Math.max(maxAlign, a);
          items.push({ kind: "member", member: m });
          cur = m.bitOffset + m.bitfieldSize;
          continue;
        }
        if (m.bitOffset < cur) return packed ? items : undefined;
        if (m.bitOffset % (a * 8) !== 0) return undefined;
        // Padding up to the member, except what natural alignment adds by itself.
        const natural = roundUp(cur, a * 8);
        if (m.bitOffset > natural) items.push(...pad(cur, m.bitOffset));
        maxAlign = Math.max(maxAlign, a);
        items.push({ kind: "member", member: m });
        cur = m.bitOffset + this.btf.sizeOf(m.type) * 8;
      }
      const natural = roundUp(cur, maxAlign * 8);
      if (natural > t.size * 8) return undefined;
      if (natural < t.size * 8) items.push(...pad(cur, t.size * 8));
      end = t.size * 8;
    }
    if (!packed && (t.size * 8) % (maxAlign * 8) !== 0) return undefined;
    if (!packed && roundUp(end, maxAlign * 8) !== t.size * 8) return undefined;
    return items;
  }
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Padding from bit `from` to bit `to`: bits to a byte boundary, whole bytes, then bits. */
function pad(from: number, to: number): LayoutItem[] {
  const out: LayoutItem[] = [];
  let cur = from;
  if (cur % 8 !== 0 && to > cur) {
    const bits = Math.min(8 - (cur % 8), to - cur);
    out.push({ kind: "pad", bits, bytes: 0 });
    cur += bits;
  }
  const bytes = Math.floor((to - cur) / 8);
  if (bytes > 0) {
    out.push({ kind: "pad", bits: 0, bytes });
    cur += bytes * 8;
  }
  if (to > cur) out.push({ kind: "pad", bits: to - cur, bytes: 0 });
  return out;
}
