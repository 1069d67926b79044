/**
 * Oracles for a spec that built: wrong results no stage throws on. Each looks at what the compiler
 * produced (the IR, the BPF object, the loader) and names what the user would lose.
 */
import { elfSection } from "../../src/kernel/btf/elf.js";
import type { IrEvent, IrField, IrMap, IrProbe } from "../../src/compiler/ir.js";
import { tsNames } from "../../src/compiler/names.js";

export type SilentBug =
  | "program never fires"
  | "event larger than its ring"
  | "field 'type' shadows the event tag"
  | "TS names collide"
  | "TS decoder loses a field";

export interface Finding {
  bug: SilentBug;
  detail: string;
}

/** BPF's ring buffer record header, and its record alignment. */
const RING_HEADER = 8;

/** Helpers through which a program has an effect: map lookup/update/delete, ringbuf output/reserve. */
const effectHelpers = new Set([1, 2, 3, 130, 131]);

/** What the IR and the object show without running anything (names aside: see tsNameClash). */
export function staticFindings(probe: IrProbe, object: Uint8Array): Finding | undefined {
  return neverFires(probe, object) ?? eventOverRing(probe) ?? typeShadowsTag(probe);
}

/**
 * A program with an event or updates whose code calls no map or ring buffer helper: clang proved
 * its filter false (or its body undefined: `pid / 0`, `1 << 64`) and dropped everything.
 */
function neverFires(probe: IrProbe, object: Uint8Array): Finding | undefined {
  for (const p of probe.programs) {
    if (!p.event && !p.updates.length && !p.stashes) continue;
    const code = elfSection(object, p.section);
    if (!code) continue;
    const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
    let effects = 0;
    for (let at = 0; at + 8 <= code.byteLength; at += 8) {
      // BPF_JMP|BPF_CALL with src_reg 0: a helper call, its id in imm.
      if (code[at] === 0x85 && (code[at + 1]! >> 4) === 0 && effectHelpers.has(dv.getInt32(at + 4, true))) effects++;
    }
    if (!effects) return { bug: "program never fires", detail: `program '${p.name}' compiles to ${code.byteLength / 8} instructions that touch no map or ring buffer` };
  }
  return undefined;
}

/** An event the ring can never hold: bpf_ringbuf_reserve fails for every one, and each is dropped. */
function eventOverRing(probe: IrProbe): Finding | undefined {
  for (const ring of probe.maps.filter((m) => m.kind === "ringbuf")) {
    for (const e of ring.events) {
      const record = Math.ceil((e.layout.size + RING_HEADER) / 8) * 8;
      if (record > ring.maxEntries) return { bug: "event larger than its ring", detail: `event '${e.name}' takes ${record} bytes with its header; ring '${ring.name}' has ${ring.maxEntries}` };
    }
  }
  return undefined;
}

/** In a ring of several event types, `type` is the tag the TS union is discriminated by. */
function typeShadowsTag(probe: IrProbe): Finding | undefined {
  for (const ring of probe.maps.filter((m) => m.events.length > 1)) {
    for (const e of ring.events) {
      const f = e.fields.find((x) => x.tsName === "type");
      if (f) return { bug: "field 'type' shadows the event tag", detail: `event '${e.name}' in ring '${ring.name}' has a field '${f.name}'` };
    }
  }
  return undefined;
}

/**
 * Names from different spec names that are one name in the loader's TypeScript. Checked after
 * the decoders have had their say (they show what a clash of field names loses), and to explain
 * a loader that does not import.
 */
export function tsNameClash(probe: IrProbe): Finding | undefined {
  const publicMaps = probe.maps.filter((m) => !m.internal);
  const structs = publicMaps.flatMap((m) => [m.key, m.value]).flatMap((t) => (t?.kind === "struct" ? [t.struct] : []));
  const scopes: Array<[string, Array<[string, string]>]> = [
    ["maps", publicMaps.map((m) => [m.name, m.tsName])],
    ["params", probe.params.map((p) => [p.name, p.tsName])],
    ["types", [
      ...probe.events.map((e): [string, string] => [`event ${e.name}`, e.tsName]),
      ...structs.map((s): [string, string] => [s.cName, s.tsName]),
      ["the probe's event union", probe.ts.event], ["the probe", probe.ts.probe], ["the maps", probe.ts.maps],
    ]],
    ...probe.events.map((e): [string, Array<[string, string]>] => [`event ${e.name}`, [...(e.tag !== undefined ? [["the tag", "type"] as [string, string]] : []), ...e.fields.flatMap((f) => eventProperties(f).map((ts): [string, string] => [f.name, ts]))]]),
    ...structs.map((s): [string, Array<[string, string]>] => [s.cName, s.members.map((x): [string, string] => [x.name, x.tsName])]),
  ];
  for (const [scope, names] of scopes) {
    const seen = new Map<string, string>();
    for (const [name, ts] of names) {
      const other = seen.get(ts);
      if (other !== undefined) return { bug: "TS names collide", detail: `${scope}: '${other}' and '${name}' are both '${ts}'` };
      seen.set(ts, name);
    }
  }
  return undefined;
}

/**
 * Decodes a zero-filled record of every event with the loader's own decoder (the tag set where
 * the ring carries several types) and checks that each field comes back under a name of its own.
 */
export function decoderFindings(probe: IrProbe, loader: Record<string, unknown>, loaderText: string): Finding | undefined {
  for (const m of loaderText.matchAll(/ringBuffer\("([a-z0-9_]+)", (\w+)\)/g)) {
    const ring = probe.maps.find((x) => x.name === m[1]);
    const decode = loader[m[2]!];
    if (!ring || typeof decode !== "function") return { bug: "TS decoder loses a field", detail: `no decoder '${m[2]}' exported for ring '${m[1]}'` };
    for (const e of ring.events) {
      const lost = lostFields(ring, e, decode as (v: DataView, o: number) => Record<string, unknown>);
      if (lost) return { bug: "TS decoder loses a field", detail: `event '${e.name}': ${lost}` };
    }
  }
  return undefined;
}

function lostFields(ring: IrMap, e: IrEvent, decode: (v: DataView, o: number) => Record<string, unknown>): string | undefined {
  const view = new DataView(new ArrayBuffer(e.layout.size));
  if (e.tag !== undefined) view.setUint32(0, e.tag, true);
  let decoded: Record<string, unknown>;
  try {
    decoded = decode(view, 0);
  } catch (err) {
    return `decoding a record of ring '${ring.name}' throws ${(err as Error).message}`;
  }
  const expected = [...(e.tag !== undefined ? ["type"] : []), ...e.fields.flatMap(eventProperties)];
  const missing = expected.filter((k) => !(k in decoded));
  if (missing.length) return `decoded record has no ${missing.join(", ")}`;
  if (Object.keys(decoded).length !== expected.length) {
    return `${expected.length} values (${expected.join(", ")}) decode to ${Object.keys(decoded).length} properties (${Object.keys(decoded).join(", ")})`;
  }
  if (e.tag !== undefined && decoded.type !== e.name) return `the tag reads ${JSON.stringify(decoded.type)}, not '${e.name}'`;
  return undefined;
}

/** The properties a field gives its event: its value, and beside a list of strings its truncation flag. */
function eventProperties(f: IrField): string[] {
  return f.type.kind === "string_list" ? [f.tsName, tsNames.listTruncated(f.tsName)] : [f.tsName];
}
