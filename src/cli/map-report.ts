/**
 * What `probegen run` prints of a probe's maps: a snapshot read with the maps' batch reads,
 * entries ranked by value (`--top N`), and the text or JSON block printed at each `--interval`
 * and once at the end.
 */
import type { IrMap, IrMapType, IrProbe, IrStructMember } from "../compiler/index.js";
import { isStackTrace, kernelDrops, keyHasStack, type StackNamer, type StackTrace } from "../runtime/index.js";
import { formatTable } from "./table.js";

/** A loaded probe's typed map, as the generated loader exposes it (a TypedMap). */
interface TypedMapLike {
  entries(): Iterable<[unknown, unknown]>;
  take?(): Array<[unknown, unknown]>;
  clear?(): void;
}

/** What of a loaded probe a report reads. */
export interface ReportSource {
  maps?: Record<string, unknown>;
  events?: { readonly dropped: number };
  object: unknown;
}

export interface MapSnapshot {
  name: string;
  ir?: IrMap;
  entries: Array<[unknown, unknown]>;
}

export interface Snapshot {
  /** When the maps were read. */
  time: Date;
  maps: MapSnapshot[];
  /** Ring buffer reserve failures in the kernel (the object's pg_drops counter). */
  kernelDrops?: bigint;
  /** Records the reader could not decode. */
  userDrops: number;
}

/**
 * Reads every typed map (`entries()`: the kernel's batch lookups). With `clear`, removes what
 * it read (`take()`: batch lookups, then batch deletes of those keys), as bpftrace's
 * `print(@x); clear(@x)`: an entry added meanwhile is kept for the next read, but what the
 * kernel adds to an entry between its read and its removal is lost, as it is in bpftrace.
 */
export function readMaps(probe: IrProbe, loaded: ReportSource, options: { clear?: boolean } = {}): Snapshot {
  const time = new Date();
  const maps: MapSnapshot[] = [];
  for (const [tsName, m] of Object.entries(loaded.maps ?? {})) {
    const ir = probe.maps.find((x) => x.tsName === tsName);
    // A keyless map is one value, shown without a key as bpftrace shows `@total`.
    if (ir?.keyless && isValueMap(m)) {
      const value = m.get(); // undefined: a min or max no program has set yet
      if (options.clear) m.clear();
      maps.push({ name: ir.name, ir, entries: value === undefined ? [] : [[undefined, value]] });
      continue;
    }
    if (!isTypedMap(m)) continue;
    maps.push({ name: ir?.name ?? tsName, ir, entries: options.clear ? take(m) : [...m.entries()] });
  }
  const drops = kernelDrops(loaded.object as Parameters<typeof kernelDrops>[0]);
  return { time, maps, kernelDrops: drops === undefined ? undefined : BigInt(drops), userDrops: loaded.events?.dropped ?? 0 };
}

/** A keyless map, as the generated loader exposes it (a MapValue). */
interface ValueMapLike {
  get(): unknown;
  clear(): void;
}

function isValueMap(m: unknown): m is ValueMapLike {
  return typeof (m as ValueMapLike | undefined)?.get === "function" && typeof (m as ValueMapLike).clear === "function";
}

function isTypedMap(m: unknown): m is TypedMapLike {
  return typeof (m as TypedMapLike | undefined)?.entries === "function";
}

/** The entries, removed from the map (a map view without take(): read, then clear). */
function take(m: TypedMapLike): Array<[unknown, unknown]> {
  if (m.take) return m.take();
  const entries = [...m.entries()];
  m.clear?.();
  return entries;
}

// ---- ranking -----------------------------------------------------------------------------------

interface HistogramLike {
  total: number;
  render(): string;
}

function histogramOf(v: unknown): HistogramLike | undefined {
  const h = v as HistogramLike | undefined;
  return typeof h?.render === "function" && typeof h.total === "number" ? h : undefined;
}

function perCpuTotal(v: unknown): unknown {
  const p = v as { perCpu?: unknown; total?: unknown } | null;
  return p !== null && typeof p === "object" && Array.isArray(p.perCpu) && "total" in p ? p.total : undefined;
}

/**
 * The number an entry's value ranks by: itself; a histogram's total count; a per-CPU value's
 * total; a struct's first numeric member. Undefined for anything else (strings, bytes).
 */
export function rankOf(value: unknown): number | bigint | undefined {
  if (typeof value === "number" || typeof value === "bigint") return value;
  const h = histogramOf(value);
  if (h) return h.total;
  const total = perCpuTotal(value);
  if (total !== undefined) return rankOf(total);
  if (value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    for (const member of Object.values(value)) if (typeof member === "number" || typeof member === "bigint") return member;
  }
  return undefined;
}

/** Largest first; values without a rank last; ties in key order, so output is stable. */
export function byValueDescending(a: [unknown, unknown], b: [unknown, unknown]): number {
  const x = rankOf(a[1]);
  const y = rankOf(b[1]);
  if (x !== undefined && y !== undefined && x !== y) return x < y ? 1 : -1;
  if ((x === undefined) !== (y === undefined)) return x === undefined ? 1 : -1;
  return jsonText(a[0]).localeCompare(jsonText(b[0]));
}

/** The `n` largest entries, largest first, and how many were left out. */
export function topEntries<E extends [unknown, unknown]>(entries: readonly E[], n: number): { shown: E[]; omitted: number } {
  const sorted = [...entries].sort(byValueDescending);
  return { shown: sorted.slice(0, n), omitted: Math.max(0, sorted.length - n) };
}

// ---- text --------------------------------------------------------------------------------------

export interface ReportOptions {
  /** Only the N largest entries of each map, largest first. */
  top?: number;
  /** Bold block headers (a terminal). */
  color?: boolean;
  /** Names stack frames (a Symbolizer): stacks show as frames, not addresses. */
  stacks?: StackNamer;
}

/** Without --top, a map shows at most this many entries (the largest). */
const DEFAULT_LIMIT = 50;

/**
 * The maps as a person reads them, one `@name:` section each: tables sorted by value
 * (largest last, next to the prompt, as bpftrace does; largest first with --top), histograms
 * as bars. `header` starts the block (the time of an --interval print).
 */
export function formatMaps(s: Snapshot, options: ReportOptions, header?: string): string {
  const out: string[] = [];
  if (header !== undefined) out.push(options.color ? `\x1b[1m${header}\x1b[22m` : header);
  for (const m of s.maps) {
    out.push(...formatMap(m, options));
  }
  if (header === undefined && (s.kernelDrops !== undefined || s.userDrops > 0)) {
    out.push("", `Dropped: ${s.kernelDrops ?? 0n} event${s.kernelDrops === 1n ? "" : "s"} (ring buffer full in the kernel)${s.userDrops ? `, ${s.userDrops} undecodable` : ""}`);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** An interval block's header: the wall-clock time of the read, as bpftrace's `time()` prints it. */
export function intervalHeader(time: Date): string {
  return time.toTimeString().slice(0, 8);
}

function formatMap(m: MapSnapshot, options: ReportOptions): string[] {
  const out = ["", `@${m.name}${m.entries.length === 0 ? ": (empty)" : ":"}`];
  if (m.entries.length === 0) return out;
  let shown: Array<[unknown, unknown]>;
  let more: string | undefined;
  if (options.top !== undefined) {
    const top = topEntries(m.entries, options.top);
    shown = top.shown;
    if (top.omitted > 0) more = `  ... ${top.omitted} more entr${top.omitted === 1 ? "y" : "ies"} not shown (--top ${options.top})`;
  } else {
    const sorted = [...m.entries].sort((a, b) => -byValueDescending(a, b));
    shown = sorted.slice(-DEFAULT_LIMIT);
    if (sorted.length > DEFAULT_LIMIT) out.push(`  ... ${sorted.length - DEFAULT_LIMIT} smaller entries not shown`);
  }
  const histograms = shown.map(([, v]) => histogramOf(v) ?? histogramOf(perCpuTotal(v)));
  if (options.stacks && shown.some(([k]) => keyHasStack(k))) {
    for (const [k, v] of shown) out.push(...stackEntry(k, v, m, options.stacks));
  } else if (histograms.every((h) => h !== undefined)) {
    shown.forEach(([k], i) => {
      if (m.entries.length > 1 || (k !== 0 && k !== undefined)) out.push(`${keyText(k)}:`);
      out.push(histograms[i]!.render());
    });
  } else if (m.ir?.keyless) {
    const value = shown[0]![1];
    const cols = columnsOf(value, "value", structMembers(m.ir.value));
    const cells = cellsOf(value, cols);
    out[out.length - 1] += ` ${cols.length === 1 && cols[0]!.key === undefined ? cells[0] : cols.map((c, i) => `${c.title.toLowerCase()}=${cells[i]}`).join(" ")}`;
  } else {
    const keyCols = columnsOf(shown[0]![0], "key", structMembers(m.ir?.key));
    const valueCols = columnsOf(shown[0]![1], "value", structMembers(m.ir?.value));
    const rows = shown.map(([k, v]) => [...cellsOf(k, keyCols), ...cellsOf(v, valueCols)]);
    out.push(formatTable([...keyCols.map((c) => c.title), ...valueCols.map((c) => c.title)], rows));
  }
  if (more) out.push(more);
  return out;
}

/**
 * An entry keyed by stacks, as bpftrace prints one: the key's other members and the value,
 * then each stack's frames, innermost first.
 */
function stackEntry(key: unknown, value: unknown, m: MapSnapshot, namer: StackNamer): string[] {
  const members: Array<[string, unknown]> = isStackTrace(key) ? [["key", key]] : Object.entries(key as Record<string, unknown>);
  const name = (tsName: string) => structMembers(m.ir?.key)?.find((x) => x.tsName === tsName)?.name ?? tsName;
  const plain = members.filter(([, v]) => !isStackTrace(v)).map(([k, v]) => `${name(k)}=${typeof v === "object" ? jsonText(v) : String(v)}`);
  const rank = rankOf(value);
  const out = [`${plain.join(" ")}${plain.length ? ": " : ""}${rank !== undefined ? String(rank) : jsonText(value)}`];
  for (const [k, v] of members) {
    if (!isStackTrace(v)) continue;
    const frames = stackFrames(v, namer);
    out.push(`    ${name(k)}:${frames.length ? "" : " (no frames)"}`, ...frames.map((f) => `        ${f}`));
  }
  return out;
}

/** A stack's frames as text, innermost first; addresses in hex when naming fails. */
export function stackFrames(trace: StackTrace, namer: StackNamer): string[] {
  try {
    return namer.stack(trace).map((f) => f.text);
  } catch {
    return trace.addresses.map((a) => `0x${a.toString(16)}`);
  }
}

/** Values with every stack given its frames (`frames: [...]`, innermost first) beside its addresses: run's JSON. */
export function withFrames(value: unknown, namer: StackNamer | undefined): unknown {
  if (!namer) return value;
  if (isStackTrace(value)) return { ...value, frames: stackFrames(value, namer) };
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withFrames(v, namer)]));
  }
  return value;
}

function structMembers(t: IrMapType | undefined): IrStructMember[] | undefined {
  return t?.kind === "struct" ? t.struct.members : undefined;
}

function columnsOf(sample: unknown, role: string, members?: Array<{ name: string; tsName: string }>): Array<{ title: string; key?: string }> {
  if (sample !== null && typeof sample === "object" && !Array.isArray(sample) && !(sample instanceof Uint8Array)) {
    return Object.keys(sample).map((k) => ({ title: (members?.find((m) => m.tsName === k)?.name ?? k).toUpperCase(), key: k }));
  }
  return [{ title: role.toUpperCase() }];
}

function cellsOf(v: unknown, cols: Array<{ key?: string }>): string[] {
  return cols.map((c) => {
    const x = c.key !== undefined ? (v as Record<string, unknown>)[c.key] : v;
    return typeof x === "string" ? x : typeof x === "object" ? jsonText(x) : String(x);
  });
}

function keyText(k: unknown): string {
  return typeof k === "object" ? jsonText(k) : String(k);
}

// ---- JSON --------------------------------------------------------------------------------------

/**
 * One JSON line of maps: `{"maps": {NAME: [{key, value}]}}`; histograms as
 * `{shape, counts}` (one number per bucket); with --top only the largest entries, largest
 * first, and `"omitted": {NAME: N}` for the maps that had more. An --interval line adds
 * `"time"` (ISO 8601); the final line adds `"drops"` (for a probe with a ring buffer).
 */
export function jsonMaps(s: Snapshot, options: ReportOptions, final: boolean): string {
  const omitted: Record<string, number> = {};
  const maps: Record<string, unknown> = {};
  for (const m of s.maps) {
    let entries = m.entries;
    if (options.top !== undefined) {
      const top = topEntries(entries, options.top);
      entries = top.shown;
      if (top.omitted > 0) omitted[m.name] = top.omitted;
    }
    maps[m.name] = entries.map(([k, v]) => ({ key: withFrames(k, options.stacks), value: histogramOf(v) ? { ...(v as object) } : withFrames(v, options.stacks) }));
  }
  const line: Record<string, unknown> = final ? {} : { time: s.time.toISOString() };
  line.maps = maps;
  if (Object.keys(omitted).length) line.omitted = omitted;
  // Drop counts exist only for a probe with a ring buffer (its pg_drops counter).
  if (final && s.kernelDrops !== undefined) line.drops = { kernel: s.kernelDrops, userspace: s.userDrops };
  return jsonText(line) + "\n";
}

/** JSON of run's output: 64-bit values as numbers when exact, else strings; bytes as arrays of numbers (as bpftrace prints them). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v instanceof Uint8Array ? [...v] : v));
}
