/**
 * The typed IR: everything both emitters need, resolved against the kernel and laid out.
 * Emitters read only this; every node keeps the span it came from.
 */
import type { SourceSpan } from "./diagnostics.js";
import type { BinaryOp, UnaryOp } from "./filter.js";
import type { TracepointField } from "../kernel/tracefs.js";
import { attachKind, type AttachPoint } from "./attach/index.js";
import type { StructLayout } from "./layout.js";
import type { MapTsNames, ProbeTsNames } from "./names.js";
import { sizeOf, typeName, type BoolType, type IntType, type ScalarOrString, type StringType } from "./types.js";

import type { Capture, PathStep } from "../kernel/btf/index.js";
import type { BtfRead, EnumValues } from "./btf-values.js";
import type { ContextField } from "./attach/kind.js";
import type { IrDecoder } from "./decode.js";
import { packetSourceKey, packetSourceName, type PacketRead } from "./packet.js";

export type Builtin = "pid" | "tid" | "uid" | "gid" | "comm" | "ktime" | "boot_ns" | "cpu" | "kstack" | "ustack";

/** How a program reaches its function arguments: pt_regs (kprobes), a u64 array (fentry, tp_btf) or libbpf's bpf_usdt_arg (USDT probes). */
export type ArgContext = "regs" | "array" | "usdt";

/** Where a CO-RE path starts: the current task, or a pointer argument. */
export type PathRoot =
  | { kind: "task" }
  | { kind: "arg"; index: number; ctx: ArgContext; cType: string };

/** Where a value comes from at run time. */
export type ValueSource =
  | { kind: "builtin"; name: Builtin }
  | { kind: "tracepoint-field"; field: TracepointField }
  /** `enum`: the argument's BTF type is an enum (its names decode the value). */
  | { kind: "kprobe-arg"; index: number; read: "int" | "user_string" | "kernel_string"; ctx?: ArgContext; enum?: EnumValues }
  /**
   * fexit reads the return value after the arguments (at ctx[index]). `read`: the register is a
   * pointer to the string wanted (a uretprobe on readline).
   */
  | { kind: "retval"; arrayIndex?: number; read?: "user_string" | "kernel_string" }
  /**
   * A kernel struct member read with CO-RE: `task.real_parent.tgid`. `root` is a BTF type id
   * (the struct the path starts in) so the emitter can print the needed types.
   */
  | { kind: "path"; root: PathRoot; rootType: number; steps: PathStep[]; capture: Capture; read: BtfRead; enum?: EnumValues }
  | { kind: "param"; param: IrParam }
  /** Exit of a pair: nanoseconds since the entry. */
  | { kind: "latency" }
  /** Exit of a pair: the positive errno of a negative return value, else 0. */
  | { kind: "errno"; ret: ValueSource }
  /** Exit of a pair: a value captured at entry, read back from the stash (member set by the resolver). */
  | { kind: "stashed"; inner: ValueSource; member: string }
  /**
   * Which attach point fired: a constant of each program, its index in `IrProbe.attachPoints` (TS reads it as the name through the AttachPoint table).
   * `only`: the program's pattern has this one match, so expressions may treat the value as the constant it is (`filter: probe` is always false).
   */
  | { kind: "probe"; index: number; only?: boolean }
  /** A member of the program's context struct, read as its attach kind says (sk_msg's `msg.size`). */
  | { kind: "context"; field: ContextField }
  /** A map read in an expression: its value (0 when the key is absent), a member of it, or whether the key is there. */
  | { kind: "lookup"; lookup: IrLookup; read: LookupRead }
  /** A packet field, or whether the packet has a header (network programs; packet.ts). */
  | { kind: "packet"; read: PacketRead };

export type LookupRead = { kind: "value" } | { kind: "found" } | { kind: "member"; member: IrStructMember };

/**
 * One map lookup of a program: `start[args.next_pid]`. The program does it once, before its
 * filter when the filter reads it and otherwise right after, always before any of its map
 * updates, and keeps what it read in locals named after `local` (every read of the same map at
 * the same key shares it). Resolve gives the declared map and key; lower swaps in the laid-out
 * ones and the per-CPU buffer a big key is built in.
 */
export interface IrLookup {
  map: IrMap<Layout>;
  key: IrComposite<Layout>;
  keyBuffer?: IrMap;
  /** C identifier prefix of its locals: pg_lookup0, pg_lookup0_found, pg_lookup0_MEMBER. */
  local: string;
  /** How the spec wrote it (for messages): `start[args.next_pid]`. */
  text: string;
  span: SourceSpan;
}

/** A runtime parameter: a field of the `const volatile` params struct in .rodata. */
export interface IrParam {
  name: string;
  tsName: string;
  type: IntType | BoolType | StringType;
  /** A number's or bool's value (bool: 0 or 1), or a string's text. */
  default: bigint | string;
  description?: string;
  span: SourceSpan;
}

export type { AttachPoint } from "./attach/index.js";

export interface IrField {
  /** snake_case name from the spec: C member name. */
  name: string;
  /** camelCase name: TS property name. */
  tsName: string;
  type: ScalarOrString;
  /** A 64-bit integer the TS decoder reads as a number (the spec's `as: number`), not a bigint. */
  asNumber?: boolean;
  /** How TS shows the value (decode.ts): a name, flags, an address, a Date. */
  decode?: IrDecoder;
  source: ValueSource;
  description?: string;
  /** Where its value is read (`from:`), and where its name is given (the same for `- pid`). */
  span: SourceSpan;
  nameSpan: SourceSpan;
}

/**
 * Resolve leaves every struct's layout to the lowering pass (lower.ts): a node typed with
 * `undefined` has none yet; the IR the emitters read has them all.
 */
export type Layout = StructLayout | undefined;

export interface IrEvent<L extends Layout = StructLayout> {
  name: string;
  /** C struct tag, e.g. "pg_event_open". */
  cName: string;
  /** TS interface name, e.g. "OpenEvent". */
  tsName: string;
  description?: string;
  fields: IrField[];
  /** Discriminant written first in the record when a ring buffer carries several event types. */
  tag?: number;
  layout: L;
  span: SourceSpan;
}

export type IrExpr =
  | { kind: "int"; value: bigint; type: IntType; span: SourceSpan }
  | { kind: "string"; value: string; type: StringType; span: SourceSpan }
  | { kind: "value"; source: ValueSource; type: ScalarOrString; span: SourceSpan }
  | { kind: "unary"; op: UnaryOp; operand: IrExpr; type: IntType | BoolType; span: SourceSpan }
  | { kind: "binary"; op: BinaryOp; left: IrExpr; right: IrExpr; type: IntType | BoolType; span: SourceSpan };

export interface IrProgram {
  /** C function name; unique in the object. */
  name: string;
  attach: AttachPoint;
  /** The SEC() string libbpf attaches by. */
  section: string;
  description?: string;
  filter?: IrExpr;
  event?: IrEvent;
  output?: IrMap;
  updates: IrUpdate[];
  /** Entry half of a pair: stores the entry values under the thread id. */
  stashes?: IrStash;
  /** Exit half of a pair: reads the entry values back, and deletes them. */
  unstashes?: IrStash;
  /** A network program's verdicts, tried in order after its updates and event; none taken: its kind's default. */
  actions?: IrAction[];
  span: SourceSpan;
}

/** One `action:` of a network program: a verdict of its kind, applied when its condition holds (always without one). */
export interface IrAction {
  verdict: string;
  /** Its C value (XDP_DROP). */
  c: string;
  /** It stops the traffic (`probegen check` says so; `probegen run` asks for --allow-drop). */
  drops: boolean;
  condition?: IrExpr;
  span: SourceSpan;
}

/** A program as resolve leaves it: one spec entry, an entry/exit pair not yet split. */
export interface ResolvedProgram extends Omit<IrProgram, "event" | "output" | "updates" | "stashes" | "unstashes"> {
  event?: IrEvent<undefined>;
  output?: IrMap<undefined>;
  updates: Array<IrUpdate<undefined>>;
  /** The exit half of a pair, and its program's name. */
  exit?: { attach: AttachPoint; section: string; name: string };
  /**
   * One match of a pattern: the shared event's fields as this attach point reads them (same
   * names and types as `event.fields`, its own sources).
   */
  eventFields?: IrField[];
}

/** The per-thread record an entry program leaves for its exit program. */
export interface IrStash {
  /** hash map: thread id -> struct cName */
  map: IrMap;
  /** per-CPU array where the entry builds the record (too big for the BPF stack). */
  scratch: IrMap;
  cName: string;
  members: Array<{ name: string; source: ValueSource; type: ScalarOrString }>;
  layout: StructLayout;
}

export type UpdateOp = IrUpdate["op"];

export interface IrStructMember {
  name: string;
  tsName: string;
  span: SourceSpan;
  type: ScalarOrString;
  /** How TS shows the member (a map key's, declared or inferred from the updates). */
  decode?: IrDecoder;
}

/** A struct key or value of a map, laid out by the lowering pass. */
export interface IrStruct<L extends Layout = StructLayout> {
  cName: string;
  tsName: string;
  members: IrStructMember[];
  layout: L;
}

/** A scalar expression, or one expression per member of a struct key/value. */
export type IrComposite<L extends Layout = StructLayout> =
  | { kind: "scalar"; type: ScalarOrString; expr: IrExpr }
  | { kind: "struct"; struct: IrStruct<L>; members: Array<{ member: IrStructMember; expr: IrExpr }> };

interface UpdateBase<L extends Layout> {
  map: IrMap<L>;
  key: IrComposite<L>;
  /**
   * Per-CPU arrays the key or value is built in when too big for the 512-byte BPF stack
   * (lower.ts): entry 0 is built, entry 1 stays zeroed and clears it.
   */
  keyBuffer?: IrMap<L>;
  valueBuffer?: IrMap<L>;
  /** Only when this holds. */
  condition?: IrExpr;
  span: SourceSpan;
}

/** One map update; each op carries the value type it works on. */
export type IrUpdate<L extends Layout = StructLayout> =
  | (UpdateBase<L> & { op: "count"; counter: IntType })
  | (UpdateBase<L> & { op: "sum" | "min" | "max"; counter: IntType; value: IrExpr })
  | (UpdateBase<L> & { op: "hist"; histogram: IrHistogram; value: IrExpr })
  | (UpdateBase<L> & { op: "set"; value: IrComposite<L> })
  | (UpdateBase<L> & { op: "delete" });

export type Histogram = { kind: "log2"; slots: number } | { kind: "linear"; min: number; max: number; step: number; slots: number };

export type MapKind = "ringbuf" | "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "array" | "percpu_array" | "sockmap" | "sockhash";

/** A map of sockets (sk_msg programs run for its sockets): TS adds them; reads give socket cookies. */
export function isSocketMap(kind: MapKind): kind is "sockmap" | "sockhash" {
  return kind === "sockmap" || kind === "sockhash";
}

export type IrHistogram = Histogram & { cName: string };

/** What a map's key or value holds. */
export type IrMapType<L extends Layout = StructLayout> =
  | { kind: "scalar"; scalar: ScalarOrString; decode?: IrDecoder }
  | { kind: "struct"; struct: IrStruct<L> }
  | { kind: "histogram"; histogram: IrHistogram };

export interface IrMap<L extends Layout = StructLayout> {
  name: string;
  /** Its property in the loader's `maps` (or `streams`); empty for internal maps. */
  tsName: string;
  /** What the loader declares for it (names.ts); internal maps have none. */
  ts?: MapTsNames;
  kind: MapKind;
  description?: string;
  maxEntries: number;
  key?: IrMapType<L>;
  value?: IrMapType<L>;
  /** Event types carried (ring buffers). */
  events: Array<IrEvent<L>>;
  /** Created by probegen rather than declared. */
  implicit: boolean;
  /** Declared without a key: one value (an array map of one entry, index 0). */
  keyless?: boolean;
  /** Not part of the typed TS API (stash, scratch and other plumbing). */
  internal?: boolean;
  noPrealloc?: boolean;
  pinned?: boolean;
  /** Exported as a Prometheus/OpenTelemetry metric (the spec's `metric:`), checked by metrics.ts. */
  metric?: IrMetric;
  span: SourceSpan;
}

/**
 * A map exported as a metric: one series per label set, read from the map at scrape time.
 * Entries whose keys differ only in members left out of `labels` are combined by `combine`.
 */
export interface IrMetric {
  type: "counter" | "gauge" | "histogram";
  /** Checked against Prometheus's rules; a counter's ends in `_total`. */
  name: string;
  help: string;
  /** Label name and the key member it reads (its TS name); no member: the scalar key itself. */
  labels: Array<{ name: string; member?: string }>;
  /** count, sum, hist: add; min, max: keep the least or greatest; set: one entry per label set. */
  combine: "sum" | "min" | "max" | "none";
  span: SourceSpan;
}

export interface IrProbe {
  name: string;
  /** Spec path as given, posix separators. */
  source: string;
  description?: string;
  license: string;
  programs: IrProgram[];
  maps: IrMap[];
  events: IrEvent[];
  params: IrParam[];
  /** Layout of struct pg_params (empty when there are no params). */
  paramsLayout: StructLayout;
  /** The identifiers its loader exports (names.ts). */
  ts: ProbeTsNames;
  /**
   * Every attach point of the probe's programs (`tracepoint/syscalls/sys_enter_read`, ...):
   * what `probe` reads as in TS. Set only when an event or a map key carries `probe`.
   */
  attachPoints?: string[];
  /** Kernel types (BTF) the programs read: what the emitted C must define. */
  btfTypes?: { btf: import("../kernel/btf/index.js").Btf; paths: Array<{ root: number; steps: PathStep[] }>; declare: number[] };
}

/** What resolve produces: names bound and the kernel consulted; pairs, stashes and layouts are lower's. */
export interface ResolvedProbe extends Omit<IrProbe, "programs" | "maps" | "events" | "paramsLayout"> {
  programs: ResolvedProgram[];
  maps: Array<IrMap<undefined>>;
  events: Array<IrEvent<undefined>>;
}

export type { StringType };

/** A map with keys and values: every kind but a ring buffer. */
export type IrKeyedMap = IrMap & { key: IrMapType; value: IrMapType };

export function isKeyed(m: IrMap): m is IrKeyedMap {
  return m.kind !== "ringbuf" && m.key !== undefined && m.value !== undefined;
}

// ---- walkers -------------------------------------------------------------------------------

/** Bytes of a map's key or value. */
export function mapTypeSize(t: IrMapType): number {
  switch (t.kind) {
    case "scalar": return sizeOf(t.scalar);
    case "struct": return t.struct.layout.size;
    case "histogram": return t.histogram.slots * 8;
  }
}

/** The expressions of a key or value. */
export function compositeExprs<L extends Layout>(c: IrComposite<L>): IrExpr[] {
  return c.kind === "scalar" ? [c.expr] : c.members.map((m) => m.expr);
}

/** The expressions of a map update: its key, its value and its condition. */
export function updateExprs<L extends Layout>(u: IrUpdate<L>): IrExpr[] {
  const value = u.op === "count" || u.op === "delete" ? [] : u.op === "set" ? compositeExprs(u.value) : [u.value];
  return [...compositeExprs(u.key), ...value, ...(u.condition ? [u.condition] : [])];
}

/** Every value source a map update reads: its key, its value and its condition. */
export function updateSources<L extends Layout>(u: IrUpdate<L>): ValueSource[] {
  return updateExprs(u).flatMap(sourcesIn);
}

/** Every expression a program evaluates, and every expression inside those (map lookups' keys too). */
export function programExprs(p: IrProgram): IrExpr[] {
  const inside = (e: IrExpr): IrExpr[] => {
    switch (e.kind) {
      case "unary": return [e, ...inside(e.operand)];
      case "binary": return [e, ...inside(e.left), ...inside(e.right)];
      case "value": return [e, ...lookupKeyExprs(e.source).flatMap(inside)];
      default: return [e];
    }
  };
  const fieldKeys = (p.event?.fields ?? []).flatMap((f) => lookupKeyExprs(f.source));
  return [...(p.filter ? [p.filter] : []), ...p.updates.flatMap(updateExprs), ...fieldKeys, ...actionConditions(p)].flatMap(inside);
}

/** Every value source a program reads, wherever it reads it. */
export function programSources(p: IrProgram): ValueSource[] {
  return [
    ...(p.event?.fields.flatMap((f) => withKeySources(f.source)) ?? []),
    ...sourcesIn(p.filter),
    ...p.updates.flatMap(updateSources),
    ...(p.stashes?.members.map((m) => m.source) ?? []),
    ...actionConditions(p).flatMap(sourcesIn),
  ];
}

/** A program whose actions can stop traffic: what `probegen check` reports and `probegen run` asks --allow-drop for. */
export interface DroppingProgram {
  program: string;
  /** Its attach point as written in a spec (`xdp`). */
  attach: string;
  /** Its verdicts that stop traffic, each with its condition's line (unconditional: none). */
  verdicts: Array<{ verdict: string; line: number; conditional: boolean }>;
}

export function droppingPrograms(probe: IrProbe): DroppingProgram[] {
  return probe.programs.flatMap((p) => {
    const verdicts = (p.actions ?? []).filter((a) => a.drops).map((a) => ({ verdict: a.verdict, line: a.span.line, conditional: a.condition !== undefined }));
    return verdicts.length ? [{ program: p.name, attach: attachKind(p.attach).title(p.attach), verdicts }] : [];
  });
}

/** "programs xdp_prog (drop, tx) on xdp": what a probe that drops traffic says about it. */
export function describeDrops(drops: DroppingProgram[]): string {
  const one = (d: DroppingProgram) => `${d.program} (${d.verdicts.map((v) => `${v.verdict}${v.conditional ? ` at line ${v.line}` : " always"}`).join(", ")}) on ${d.attach}`;
  return `drops traffic: program${drops.length === 1 ? "" : "s"} ${drops.map(one).join("; ")}`;
}

/** The conditions of a program's actions. */
export function actionConditions(p: Pick<IrProgram, "actions">): IrExpr[] {
  return (p.actions ?? []).flatMap((a) => (a.condition ? [a.condition] : []));
}

/** Every value source an expression reads (a map lookup, and what its key reads). */
export function sourcesIn(e: IrExpr | undefined): ValueSource[] {
  if (!e) return [];
  switch (e.kind) {
    case "value": return withKeySources(e.source);
    case "unary": return sourcesIn(e.operand);
    case "binary": return [...sourcesIn(e.left), ...sourcesIn(e.right)];
    default: return [];
  }
}

/** A source, and when it is a map lookup, the sources its key reads (first: they are read first). */
export function withKeySources(s: ValueSource): ValueSource[] {
  return [...lookupKeyExprs(s).flatMap(sourcesIn), s];
}

/** The key expressions of a map lookup (none for other sources). */
export function lookupKeyExprs(s: ValueSource): IrExpr[] {
  return s.kind === "lookup" ? compositeExprs(s.lookup.key) : [];
}

/** The map lookups a program does, each once, in the order it first reads them. */
export function lookupsIn(sources: ValueSource[]): IrLookup[] {
  const out: IrLookup[] = [];
  for (const s of sources) if (s.kind === "lookup" && !out.includes(s.lookup)) out.push(s.lookup);
  return out;
}

/** The string values an expression compares. */
export function stringValues(e: IrExpr): Array<IrExpr & { kind: "value" }> {
  switch (e.kind) {
    case "value": return e.type.kind === "string" ? [e] : [];
    case "unary": return stringValues(e.operand);
    case "binary": return [...stringValues(e.left), ...stringValues(e.right)];
    default: return [];
  }
}

/** The stashed sources inside a source (errno wraps ret, which may itself come from the entry). */
export function stashedIn(s: ValueSource): Array<ValueSource & { kind: "stashed" }> {
  if (s.kind === "stashed") return [s];
  if (s.kind === "errno") return stashedIn(s.ret);
  if (s.kind === "lookup") return lookupKeyExprs(s).flatMap(sourcesIn).flatMap(stashedIn);
  return [];
}

/** How a spec would write the value a source reads. */
export function sourceName(s: ValueSource): string {
  switch (s.kind) {
    case "builtin": return s.name;
    case "tracepoint-field": return s.field.name;
    case "retval": return "retval";
    case "kprobe-arg": return `arg${s.index}`;
    case "param": return `params.${s.param.name}`;
    case "latency": return "latency";
    case "errno": return "errno";
    case "stashed": return sourceName(s.inner);
    case "lookup": return s.read.kind === "found" ? `${s.lookup.text} (found)` : s.read.kind === "member" ? `${s.lookup.text}.${s.read.member.name}` : s.lookup.text;
    case "path": return [s.root.kind === "task" ? "task" : `arg${s.root.index}`, ...s.steps.map((x) => x.name)].join(".");
    case "probe": return "probe";
    case "context": return s.field.name;
    case "packet": return packetSourceName(s);
  }
}

/** A string that is equal for two sources exactly when they read the same value the same way. */
export function sourceKey(s: ValueSource): string {
  switch (s.kind) {
    case "builtin": return `builtin:${s.name}`;
    case "tracepoint-field": return `tp:${s.field.name}:${s.field.access.kind}${s.field.access.kind === "array" ? `:${typeName(s.field.access.type)}` : ""}`;
    case "kprobe-arg": return `arg:${s.index}:${s.read}:${s.ctx ?? "regs"}`;
    case "retval": return `retval:${s.arrayIndex ?? ""}:${s.read ?? "int"}`;
    case "path": return `path:${sourceName(s)}:${s.read}`;
    case "param": return `param:${s.param.name}`;
    case "latency": return "latency";
    case "errno": return `errno:${sourceKey(s.ret)}`;
    case "stashed": return `stashed:${sourceKey(s.inner)}`;
    case "probe": return `probe:${s.index}`;
    case "packet": return packetSourceKey(s);
    case "lookup": return `lookup:${s.lookup.local}:${s.read.kind === "member" ? s.read.member.name : s.read.kind}`;
    case "context": return `context:${s.field.name}`;
  }
}
