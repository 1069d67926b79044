/**
 * Member paths like task.real_parent.tgid, resolved against BTF: where each hop's member lives,
 * whether a pointer must be followed before it (each followed pointer is one BPF_CORE_READ hop),
 * and whether the final value can be captured into an event. Anonymous struct/union members are
 * looked through, as C does. Failures say which step failed and what was there instead.
 */
import type { Btf } from "./btf.js";
import { closest } from "../../compiler/suggest.js";

export interface PathStep {
  /** The member's name as written in the path. */
  name: string;
  /** The struct or union it was found in (the named one, not an anonymous member inside it). */
  container: number;
  /** The value holding `container` is a pointer: it must be followed (read) before this member. */
  deref: boolean;
  /** The member's declared type (typedefs and qualifiers kept; btf.resolve() to look through). */
  type: number;
  /** From the start of `container`, including the offsets of anonymous members passed through. */
  bitOffset: number;
  /** 0 unless the member is a bitfield. */
  bitfieldSize: number;
  /** Anonymous struct/union members passed through to reach it (their type ids), outermost first. */
  via: number[];
}

/** How the value at the end of a path can be captured. */
export type Capture =
  | { kind: "int"; size: number; signed: boolean; bool: boolean; enum: boolean; bitfieldSize: number }
  | { kind: "pointer"; target: number; charPointer: boolean }
  /** char name[N]: text. */
  | { kind: "char_array"; length: number }
  /** Any other array of integers (__u8 addr[16], u64 counts[4]): copied by value. */
  | { kind: "array"; length: number; elementSize: 1 | 2 | 4 | 8; signed: boolean };

export type PathErrorKind = "no_member" | "not_composite" | "incomplete" | "not_capturable";

export interface PathError {
  kind: PathErrorKind;
  /** Index in the path of the name that failed (path.length - 1 for not_capturable). */
  index: number;
  /** The type that was there: the container for no_member, the value's type otherwise. */
  type: number;
  message: string;
  /** For no_member: every member name reachable at that point (anonymous members flattened). */
  members?: string[];
  /** For no_member: the nearest names. */
  suggestions?: string[];
  hint?: string;
}

export type PathResult =
  | { ok: true; steps: PathStep[]; type: number; capture: Capture | undefined }
  | { ok: false; steps: PathStep[]; error: PathError };

export interface PathOptions {
  /** Also check the final value can be captured (default true); otherwise capture is undefined. */
  capture?: boolean;
}

export function resolvePath(btf: Btf, root: number, path: readonly string[], options: PathOptions = {}): PathResult {
  const steps: PathStep[] = [];
  let current = root;
  const fail = (error: PathError): PathResult => ({ ok: false, steps, error });
  for (let i = 0; i < path.length; i++) {
    const name = path[i]!;
    let container = btf.resolve(current);
    let deref = false;
    if (btf.kindName(container) === "ptr") {
      const pointee = btf.resolve((btf.type(container) as { type: number }).type);
      const k = btf.kindName(pointee);
      if (k === "struct" || k === "union" || k === "fwd") {
        container = pointee;
        deref = true;
      }
    }
    const kind = btf.kindName(container);
    const where = i === 0 ? "the root" : `'${path.slice(0, i).join(".")}'`;
    if (kind === "fwd") {
      return fail({ kind: "incomplete", index: i, type: container,
        message: `${where} is ${btf.describe(current)}, whose members this BTF does not describe`,
        hint: "the kernel's BTF only declares this type; a module's BTF (--btf) may define it" });
    }
    if (kind !== "struct" && kind !== "union") {
      return fail({ kind: "not_composite", index: i, type: current,
        message: `cannot take member '${name}': ${where} is ${btf.describe(current)}, not a struct, union or pointer to one`,
        hint: kind === "ptr" ? "a pointer to a pointer cannot be followed by name" : `end the path at ${where}` });
    }
    const found = findMember(btf, container, name);
    if (!found) {
      const members = memberNames(btf, container);
      const suggestions = closest(name, members);
      return fail({ kind: "no_member", index: i, type: container, members, suggestions,
        message: `${btf.describe(container)} has no member '${name}'`,
        hint: suggestions.length ? `did you mean ${suggestions.map((s) => `'${s}'`).join(" or ")}?` : `its members: ${members.join(", ")}` });
    }
    steps.push({ name, container, deref, ...found });
    current = found.type;
  }
  if (options.capture === false) return { ok: true, steps, type: current, capture: undefined };
  const last = steps.at(-1);
  const capture = classify(btf, current, last?.bitfieldSize ?? 0);
  if ("error" in capture) {
    return fail({ kind: "not_capturable", index: path.length - 1, type: current,
      message: `${path.length ? `'${path.join(".")}'` : "the root"} is ${btf.describe(current)}, which cannot be captured`, hint: capture.error });
  }
  return { ok: true, steps, type: current, capture };
}

type Found = Pick<PathStep, "type" | "bitOffset" | "bitfieldSize" | "via">;

/** A member by name, searching anonymous struct/union members depth-first in declaration order. */
export function findMember(btf: Btf, container: number, name: string): Found | undefined {
  for (const m of btf.members(container)) {
    if (m.name === name) return { type: m.type, bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize, via: [] };
    if (m.name === "" && isComposite(btf, m.type)) {
      const inner = findMember(btf, m.type, name);
      if (inner) return { ...inner, bitOffset: m.bitOffset + inner.bitOffset, via: [m.type, ...inner.via] };
    }
  }
  return undefined;
}

/** Every member name reachable by C's rules (anonymous members flattened). */
export function memberNames(btf: Btf, container: number): string[] {
  const out: string[] = [];
  for (const m of btf.members(container)) {
    if (m.name !== "") out.push(m.name);
    else if (isComposite(btf, m.type)) out.push(...memberNames(btf, m.type));
  }
  return out;
}

function isComposite(btf: Btf, id: number): boolean {
  const k = btf.kindName(btf.resolve(id));
  return k === "struct" || k === "union";
}

function classify(btf: Btf, id: number, bitfieldSize: number): Capture | { error: string } {
  const t = btf.type(btf.resolve(id));
  switch (t.kind) {
    case "int": return { kind: "int", size: t.size, signed: t.signed, bool: t.bool, enum: false, bitfieldSize };
    case "enum": case "enum64": return { kind: "int", size: t.size, signed: t.signed, enum: true, bool: false, bitfieldSize };
    case "ptr": {
      const target = btf.type(btf.resolve(t.type));
      return { kind: "pointer", target: target.id, charPointer: isChar(target) };
    }
    case "array": return arrayCapture(btf, t);
    case "struct": case "union": {
      const names = memberNames(btf, t.id);
      return { error: `a ${t.kind} is captured one member at a time, e.g. '.${names[0] ?? "member"}' (members: ${names.slice(0, 12).join(", ")}${names.length > 12 ? ", ..." : ""})` };
    }
    case "float": return { error: "BPF programs cannot handle floating point values" };
    default: return { error: `a ${t.kind} has no value to capture` };
  }
}

/** `char comm[16]` is text; other arrays of integers are copied whole; anything else is refused. */
export function arrayCapture(btf: Btf, t: { type: number; nelems: number }): Capture | { error: string } {
  const elem = btf.type(btf.resolve(t.type));
  if (elem.kind === "int" && elem.size === 1 && (elem.char || elem.name === "char")) return { kind: "char_array", length: t.nelems };
  if ((elem.kind === "int" || elem.kind === "enum" || elem.kind === "enum64") && [1, 2, 4, 8].includes(elem.size) && !(elem.kind === "int" && elem.bool) && t.nelems > 0) {
    return { kind: "array", length: t.nelems, elementSize: elem.size as 1 | 2 | 4 | 8, signed: elem.signed };
  }
  if (t.nelems === 0) return { error: "an array of no fixed length" };
  return { error: `only arrays of integers can be captured whole; capture one member of ${btf.describe(t.type)} instead` };
}

function isChar(t: ReturnType<Btf["type"]>): boolean {
  return t.kind === "int" && t.size === 1 && (t.char || t.name === "char" || t.name === "unsigned char" || t.name === "signed char");
}
