/**
 * Lower: the resolved IR into what the emitters read, in one pass. Entry/exit pairs become two
 * programs and the stash between them; ring buffers carrying several events get their tags;
 * every struct (params, events, map keys and values, stashes) is laid out here, once.
 */
import { DiagnosticBag, error } from "./diagnostics.js";
import {
  actionConditions, lookupsIn, mapTypeSize, sourceKey, sourceName, sourcesIn, stashedIn, updateSources, withKeySources,
  type IrComposite, type IrEvent, type IrExpr, type IrField, type IrLookup, type IrMap, type IrMapType, type IrProbe, type IrProgram, type IrStash, type IrStruct, type IrUpdate,
  type ResolvedProbe, type ResolvedProgram, type ValueSource,
} from "./ir.js";
import { layoutStruct, ringRecordSize, RING_HEADER } from "./layout.js";
import { cNames } from "./names.js";
import { typeName, u8, u32, u64, type ScalarOrString } from "./types.js";

/** Entries of the per-thread hash map that holds a pair's entry values. */
const STASH_ENTRIES = 10240;

/** Keys and values bigger than this are built in a per-CPU buffer, not on the 512-byte BPF stack. */
const STACK_BUILD_MAX = 64;

/** The largest value of a per-CPU map (the kernel's PCPU_MIN_UNIT_SIZE): stashes and build buffers are per-CPU. */
export const MAX_PERCPU_VALUE = 32 * 1024;

/** The most kernel memory one map may ask for, max_entries x (key + value) before per-CPU copies. */
export const MAX_MAP_BYTES = 2 ** 30;

export function lowerProbe(probe: ResolvedProbe): IrProbe {
  return new Lowering(probe).run();
}

class Lowering {
  private readonly events = new Map<IrEvent<undefined>, IrEvent>();
  private readonly maps = new Map<IrMap<undefined>, IrMap>();
  private readonly structs = new Map<IrStruct<undefined>, IrStruct>();
  /** Maps in the order the C declares them: declared ones, then each program's plumbing. */
  private readonly order: IrMap[] = [];
  private readonly buffers = new Map<string, IrMap>();
  private readonly bag = new DiagnosticBag();
  private readonly loweredLookups = new Set<IrLookup>();

  constructor(private readonly probe: ResolvedProbe) {}

  run(): IrProbe {
    const { probe } = this;
    // A ring buffer carrying several event types tags each record first.
    const tags = new Map<IrEvent<undefined>, number>();
    for (const m of probe.maps) if (m.events.length > 1) m.events.forEach((e, i) => tags.set(e, i + 1));
    for (const e of probe.events) {
      const tag = tags.get(e);
      const members = [...e.fields, ...e.fields.flatMap(listMembers)];
      this.events.set(e, { ...e, ...(tag !== undefined ? { tag } : {}), layout: layoutStruct(members, tag !== undefined ? [{ name: "pg_type", type: u32 }] : []) });
    }
    for (const m of probe.maps) this.maps.set(m, this.map(m));
    this.order.push(...probe.maps.filter((m) => !m.implicit).map((m) => this.lowered(m)));
    for (const m of this.order) this.checkLimits(m);
    const programs = probe.programs.flatMap((p) => this.program(p));
    for (const m of this.order.filter((x) => x.implicit && x.kind === "ringbuf")) this.checkLimits(m);
    this.bag.throwIfErrors();
    return {
      ...probe,
      programs,
      maps: this.order,
      events: probe.events.map((e) => this.event(e)),
      paramsLayout: layoutStruct(probe.params.map((p) => ({ name: p.name, type: p.type }))),
    };
  }

  /** What the kernel could not create or a program could never use, at the map's declaration. */
  private checkLimits(m: IrMap): void {
    if (m.kind === "ringbuf") {
      for (const e of m.events) {
        const record = ringRecordSize(e.layout);
        // The kernel keeps a record only while it leaves at least one byte of the ring free.
        if (record < m.maxEntries) continue;
        this.bag.add(error("event-too-big", `event '${e.name}' takes ${record} bytes in a ring buffer (${e.layout.size} of fields and an ${RING_HEADER}-byte header); ` +
          `ring buffer '${m.name}' has ${m.maxEntries} bytes, so every event would be dropped`, e.span,
          `${m.implicit ? `declare 'maps: { ${m.name}: { type: ringbuf, size: ${sizeText(ringFor(record))} } }'` : `give '${m.name}' a size of at least ${sizeText(ringFor(record))}`}, or capture shorter strings (size:)`));
      }
      return;
    }
    const sizes = { key: m.key ? mapTypeSize(m.key) : 0, value: m.value ? mapTypeSize(m.value) : 0 };
    for (const role of ["key", "value"] as const) {
      if (sizes[role] > MAX_PERCPU_VALUE) {
        this.bag.add(error("map-too-big", `map '${m.name}' has a ${sizes[role]}-byte ${role}; programs build keys and values in per-CPU memory, which holds at most ${MAX_PERCPU_VALUE} bytes`,
          m.span, `make the ${role} smaller: shorter strings or arrays`));
      }
    }
    const bytes = m.maxEntries * (sizes.key + sizes.value);
    if (bytes > MAX_MAP_BYTES) {
      this.bag.add(error("map-too-big", `map '${m.name}' would take ${(bytes / 2 ** 20).toFixed(0)} MiB of kernel memory (${m.maxEntries} entries of ${sizes.key} + ${sizes.value} bytes); the limit is ${MAX_MAP_BYTES / 2 ** 20} MiB a map`,
        m.span, "lower max_entries, or make the key or value smaller"));
    }
  }

  /** The per-CPU buffer a map's key or value is built in, when it is too big for the stack. */
  private buffer(m: IrMap, role: "key" | "value"): IrMap | undefined {
    const type = m[role];
    if (!type || mapTypeSize(type) <= STACK_BUILD_MAX) return undefined;
    const name = cNames.buildBuffer(m.name, role);
    let buffer = this.buffers.get(name);
    if (!buffer) {
      buffer = { name, tsName: "", kind: "percpu_array", maxEntries: 2, key: { kind: "scalar", scalar: u32 }, value: type, events: [], implicit: true, internal: true, span: m.span };
      this.buffers.set(name, buffer);
      this.order.push(buffer);
    }
    return buffer;
  }

  private event(e: IrEvent<undefined>): IrEvent {
    return found(this.events, e, "event");
  }

  private lowered(m: IrMap<undefined>): IrMap {
    return found(this.maps, m, "map");
  }

  private struct(s: IrStruct<undefined>): IrStruct {
    let out = this.structs.get(s);
    if (!out) this.structs.set(s, (out = { ...s, layout: layoutStruct(s.members) }));
    return out;
  }

  private map(m: IrMap<undefined>): IrMap {
    const { key, value, events, ...rest } = m;
    return { ...rest, ...(key ? { key: this.mapType(key) } : {}), ...(value ? { value: this.mapType(value) } : {}), events: events.map((e) => this.event(e)) };
  }

  private mapType(t: IrMapType<undefined>): IrMapType {
    return t.kind === "struct" ? { kind: "struct", struct: this.struct(t.struct) } : t;
  }

  private composite(c: IrComposite<undefined>): IrComposite {
    return c.kind === "scalar" ? c : { ...c, struct: this.struct(c.struct) };
  }

  private update(u: IrUpdate<undefined>): IrUpdate {
    const map = this.lowered(u.map);
    const keyBuffer = this.buffer(map, "key");
    const valueBuffer = u.op === "set" ? this.buffer(map, "value") : undefined;
    const base = {
      map, key: this.composite(u.key), ...(keyBuffer ? { keyBuffer } : {}), ...(valueBuffer ? { valueBuffer } : {}),
      ...(u.condition ? { condition: u.condition } : {}), span: u.span,
    };
    switch (u.op) {
      case "count": return { ...base, op: u.op, counter: u.counter };
      case "sum": case "min": case "max": return { ...base, op: u.op, counter: u.counter, value: u.value };
      case "hist": return { ...base, op: u.op, histogram: u.histogram, value: u.value };
      case "set": return { ...base, op: u.op, value: this.composite(u.value) };
      case "delete": return { ...base, op: u.op };
    }
  }

  /**
   * A program's map lookups read the laid-out maps; a key too big for the stack is built in the
   * map's per-CPU key buffer, as an update's is. (Lookups are shared by every read of them.)
   */
  private lookups(p: ResolvedProgram): void {
    const sources = [...(p.event?.fields.flatMap((f) => withKeySources(f.source)) ?? []), ...sourcesIn(p.filter), ...p.updates.flatMap(updateSources), ...actionConditions(p).flatMap(sourcesIn)];
    for (const lookup of lookupsIn(sources)) {
      if (this.loweredLookups.has(lookup)) continue;
      this.loweredLookups.add(lookup);
      const map = this.lowered(lookup.map as IrMap<undefined>);
      lookup.map = map;
      lookup.key = this.composite(lookup.key as IrComposite<undefined>);
      const keyBuffer = this.buffer(map, "key");
      if (keyBuffer) lookup.keyBuffer = keyBuffer;
    }
  }

  /** One program, or the entry and exit programs of a pair. */
  private program(p: ResolvedProgram): IrProgram[] {
    this.lookups(p);
    const { exit, event, output, updates, eventFields, ...rest } = p;
    // The default ring buffer is declared where the first program that writes to it is.
    if (output?.implicit && !this.order.includes(this.lowered(output))) this.order.push(this.lowered(output));
    const lowered: IrProgram = {
      ...rest,
      // One match of a pattern reads the shared event's fields from its own attach point.
      ...(event ? { event: eventFields ? { ...this.event(event), fields: eventFields } : this.event(event) } : {}),
      ...(output ? { output: this.lowered(output) } : {}),
      updates: updates.map((u) => this.update(u)),
    };
    return exit ? this.pair(lowered, exit) : [lowered];
  }

  /**
   * An entry/exit pair: the entry stashes the entry values the exit uses under the thread id;
   * a filter on entry values alone runs at the entry, so unwanted calls are never stashed.
   */
  private pair(p: IrProgram, exit: NonNullable<ResolvedProgram["exit"]>): IrProgram[] {
    const exitOnly = (s: ValueSource) => s.kind === "latency" || s.kind === "errno" || (s.kind !== "stashed" && s.kind !== "builtin" && s.kind !== "param" && s.kind !== "probe");
    const entryFilter = p.filter && !sourcesIn(p.filter).some(exitOnly) ? unstash(p.filter) : undefined;
    const exitFilter = entryFilter ? undefined : p.filter;
    const stashed = [
      ...(p.event?.fields.map((f) => f.source) ?? []),
      ...sourcesIn(exitFilter),
      ...p.updates.flatMap(updateSources),
    ].flatMap(stashedIn);
    const members: IrStash["members"] = [];
    for (const s of stashed) {
      const key = sourceKey(s.inner);
      let member = members.find((m) => sourceKey(m.source) === key);
      if (!member) {
        const wanted = s.inner.kind === "tracepoint-field" ? s.inner.field.name : s.inner.kind === "kprobe-arg" ? `arg${s.inner.index}` : `v${members.length}`;
        member = { name: members.some((m) => m.name === wanted) ? `${wanted}_${members.length}` : wanted, source: s.inner, type: stashedType(s, p.event) };
        members.push(member);
      } else {
        // Two fields may capture one string at two sizes: the stash keeps the longer.
        const type = stashedType(s, p.event);
        if (type.kind === "string" && member.type.kind === "string" && type.size > member.type.size) member.type = type;
      }
      s.member = member.name;
    }
    const cName = cNames.stash(p.name);
    const layout = layoutStruct(members, [{ name: "pg_ts", type: u64 }]);
    const { span } = p;
    if (layout.size > MAX_PERCPU_VALUE) {
      this.bag.add(error("stash-too-big", `the entry of '${p.name}' keeps ${layout.size} bytes for its exit (${members.map((m) => `${sourceName(m.source)}: ${typeName(m.type)}`).join(", ")}); ` +
        `it is built in per-CPU memory, which holds at most ${MAX_PERCPU_VALUE} bytes`, span, "capture shorter strings (size:) or fewer entry values"));
    }
    // Internal: no TS names, and no members a loader would read.
    const value: IrMapType = { kind: "struct", struct: { cName, tsName: "", layout, members: [] } };
    const key: IrMapType = { kind: "scalar", scalar: u32 };
    const internal = { tsName: "", key, value, events: [], implicit: true, internal: true, span };
    const stashMap: IrMap = { ...internal, name: cNames.stashMap(p.name), kind: "hash", maxEntries: STASH_ENTRIES };
    const scratch: IrMap = { ...internal, name: cNames.scratchMap(p.name), kind: "percpu_array", maxEntries: 1 };
    this.order.push(stashMap, scratch);
    const stash: IrStash = { map: stashMap, scratch, cName, members, layout };
    const { filter: _, event, output, updates, ...entry } = p;
    return [
      { ...entry, filter: entryFilter, updates: [], stashes: stash },
      { ...p, name: exit.name, attach: exit.attach, section: exit.section, filter: exitFilter, unstashes: stash },
    ];
  }
}

/** What an event keeps beside a list of strings: how many it read (at most 128), and whether more were left. */
function listMembers(f: IrField): Array<{ name: string; type: ScalarOrString }> {
  if (f.type.kind !== "string_list") return [];
  return [{ name: cNames.listCount(f.name), type: u8 }, { name: cNames.listMore(f.name), type: { kind: "bool" } }];
}

/** The smallest ring buffer size that holds a record of `record` bytes. */
function ringFor(record: number): number {
  let size = 4096;
  while (size <= record) size *= 2;
  return size;
}

function sizeText(bytes: number): string {
  return bytes >= 2 ** 20 ? `${bytes / 2 ** 20}MiB` : `${bytes / 1024}KiB`;
}

function found<K, V>(map: Map<K, V>, key: K, what: string): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`lower: an ${what} the probe does not list`);
  return value;
}

/** The type a stashed value is kept as: the field's (strings sized as the event wants), or its own. */
function stashedType(s: ValueSource & { kind: "stashed" }, event: IrEvent | undefined): ScalarOrString {
  const field = event?.fields.find((f) => f.source === s);
  if (field) return field.type;
  const inner = s.inner;
  if (inner.kind === "tracepoint-field") {
    const a = inner.field.access;
    if (a.kind === "int") return a.type;
    if (a.kind === "char_array") return { kind: "string", size: a.length };
    if (a.kind === "pointer") return u64;
    if (a.kind === "array") return a.type;
    return { kind: "string", size: 256 };
  }
  if (inner.kind === "kprobe-arg") return inner.read === "int" ? u64 : { kind: "string", size: 256 };
  if (inner.kind === "path") {
    if (inner.read === "char_array" && inner.capture.kind === "char_array") return { kind: "string", size: inner.capture.length };
    if (inner.read === "kernel_string" || inner.read === "user_string") return { kind: "string", size: 256 };
    if (inner.capture.kind === "int") return { kind: "int", size: inner.capture.size as 1 | 2 | 4 | 8, signed: inner.capture.signed };
    if (inner.capture.kind === "array") return { kind: "array", element: { kind: "int", size: inner.capture.elementSize, signed: inner.capture.signed }, length: inner.capture.length };
  }
  return u64;
}

/** The same expression read at the entry: stashed values become the values themselves. */
function unstash(e: IrExpr): IrExpr {
  switch (e.kind) {
    case "value": return e.source.kind === "stashed" ? { ...e, source: e.source.inner } : e;
    case "unary": return { ...e, operand: unstash(e.operand) };
    case "binary": return { ...e, left: unstash(e.left), right: unstash(e.right) };
    default: return e;
  }
}
