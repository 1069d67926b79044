/**
 * What generated loaders call to show a captured number to a person (the spec's `decode:`):
 * names from build-time tables, flags, kernel symbols, addresses, ports and wall-clock time.
 * Symbolic names are the tables' own strings (no allocation per event); flags, symbols and
 * addresses of a value already seen come from a bounded cache.
 */
import { native } from "./native.js";
import { KernelSymbolTable } from "./symbolize/kallsyms.js";
import { symbolText } from "./symbolize/symbolizer.js";

/** A number -> name table's values by name, as a loader exports it: `TcpState.TCP_ESTABLISHED === 1`. */
export type SymbolConsts = Readonly<Record<string, number>>;

/**
 * The reverse of a table, value -> name (the first name of a value wins): an array indexed by
 * the value where the values are small (syscalls, states: one load per event), a Map beyond.
 */
export class SymbolNames<K> {
  private readonly dense: Array<K | undefined>;
  private readonly sparse = new Map<number, K>();

  constructor(entries: Iterable<[K, number]>) {
    const all = [...entries];
    const limit = Math.min(DENSE_LIMIT, Math.max(-1, ...all.map(([, v]) => v)) + 1);
    // Filled, not holey: V8 keeps a packed array's loads fast.
    this.dense = new Array<K | undefined>(Math.max(limit, 0)).fill(undefined);
    for (const [name, v] of all) {
      if (Number.isInteger(v) && v >= 0 && v < limit) this.dense[v] ??= name;
      else if (!this.sparse.has(v)) this.sparse.set(v, name);
    }
  }

  /** The name of `value`, or the number itself when the table has none. */
  of(value: number): K | number {
    if (value >= 0 && value < this.dense.length) return this.dense[value] ?? value;
    return this.sparse.get(value) ?? value;
  }
}

const DENSE_LIMIT = 4096;

export function symbolNames<K extends string>(consts: Readonly<Record<K, number>>): SymbolNames<K> {
  return new SymbolNames(Object.entries(consts) as Array<[K, number]>);
}

/** The name of `value`, or the number itself when the table has none. */
export function symbolOf<K>(names: SymbolNames<K>, value: number): K | number {
  return names.of(value);
}

/** The number behind a decoded value: `rawValue(TcpState, ev.newstate)` is 1 for TCP_ESTABLISHED. */
export function rawValue<K extends string>(consts: Readonly<Record<K, number>>, value: K | number): number {
  if (typeof value === "number") return value;
  const n = consts[value];
  if (n === undefined) throw new RangeError(`'${value}' is not one of ${Object.keys(consts).slice(0, 8).join(", ")}${Object.keys(consts).length > 8 ? ", ..." : ""}`);
  return n;
}

/** [value, mask, name]: matches when (v & mask) === value. */
export type FlagEntry = readonly [number, number, string];

const CACHE_LIMIT = 4096;

/** Remembers up to CACHE_LIMIT results, so a value seen again costs a Map lookup. */
function cached<K, V>(compute: (k: K) => V): (k: K) => V {
  const memo = new Map<K, V>();
  return (k) => {
    let v = memo.get(k);
    if (v === undefined) {
      v = compute(k);
      if (memo.size >= CACHE_LIMIT) memo.clear();
      memo.set(k, v);
    }
    return v;
  };
}

/** `O_WRONLY|O_CREAT|O_CLOEXEC`: the names of the bits set, in the table's order; bits it lacks in hex. */
export function flagsDecoder(entries: readonly FlagEntry[]): (value: number) => string {
  const table = entries.map(([v, m, name]) => ({ bits: BigInt(v), mask: BigInt(m), name }));
  const none = table.find((e) => e.mask === 0n)?.name ?? "0";
  return cached((value: number) => {
    // A negative 32-bit field (`int flags` with bit 31 set) is its 32 bits, not 64.
    const v = value < 0 && value >= -0x80000000 ? BigInt(value >>> 0) : BigInt.asUintN(64, BigInt(value));
    const parts: string[] = [];
    let claimed = 0n;
    for (const { bits, mask, name } of table) {
      // A name claims its bits once: O_TMPFILE's include O_DIRECTORY's.
      if (mask === 0n || (v & mask) !== bits || (claimed & mask) !== 0n) continue;
      parts.push(name);
      claimed |= mask;
    }
    const rest = v & ~claimed;
    if (rest) parts.push(`0x${rest.toString(16)}`);
    return parts.length ? parts.join("|") : none;
  });
}

/** The number behind flags text: `flagsValue(OpenFlags, "O_WRONLY|O_CREAT")` is 0o101. */
export function flagsValue(consts: SymbolConsts, text: string | number): number {
  if (typeof text === "number") return text;
  let v = 0;
  for (const part of text.split("|").map((p) => p.trim())) {
    if (part === "0" || part === "") continue;
    const n = consts[part] ?? (/^0x[0-9a-f]+$/i.test(part) ? Number(part) : undefined);
    if (n === undefined) throw new RangeError(`'${part}' is not one of ${Object.keys(consts).join(", ")}`);
    v |= n;
  }
  return v;
}

// ---- addresses and ports ---------------------------------------------------------------------

/** `127.0.0.1` from 4 bytes in network order. */
export function ipv4(view: DataView, offset: number): string {
  return `${view.getUint8(offset)}.${view.getUint8(offset + 1)}.${view.getUint8(offset + 2)}.${view.getUint8(offset + 3)}`;
}

/** `::1`, `fe80::1`, `::ffff:127.0.0.1` from 16 bytes in network order (RFC 5952: the longest run of zeros as ::). */
export function ipv6(view: DataView, offset: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(view.getUint16(offset + 2 * i, false));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return `::ffff:${ipv4(view, offset + 12)}`;
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address; an IPv4-mapped IPv6 one as the IPv4 address it carries. */
export function inetAddr(view: DataView, offset: number, bytes: 4 | 16): string {
  if (bytes === 4) return ipv4(view, offset);
  const text = ipv6(view, offset);
  return text.startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text;
}

/** Writes an address text back as bytes in network order (map keys looked up by address). */
export function writeInetAddr(view: DataView, offset: number, bytes: 4 | 16, text: string): void {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const out = new Uint8Array(bytes);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) throw new RangeError(`'${text}' is not an IPv4 address`);
    if (bytes === 4) out.set(octets);
    else out.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...octets]);
  } else {
    if (bytes === 4 || !/^[0-9a-f:.]+$/i.test(text)) throw new RangeError(`'${text}' is not an ${bytes === 4 ? "IPv4" : "IPv6"} address`);
    const [head, tail] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
    const words = (s: string) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
    const h = words(head);
    const t = tail === undefined ? [] : words(tail);
    const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
    if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new RangeError(`'${text}' is not an IPv6 address`);
    all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  }
  for (let i = 0; i < bytes; i++) view.setUint8(offset + i, out[i]!);
}

// ---- kernel symbols ------------------------------------------------------------------------------

let kernelSymbols: KernelSymbolTable | undefined;

/** `tcp_v4_connect+0x1a` for a kernel text address; the address in hex when no symbol precedes it (or kallsyms is unreadable). */
export const ksym = cached((address: bigint): string => {
  const a = BigInt.asUintN(64, address);
  const found = (kernelSymbols ??= KernelSymbolTable.read()).lookup(a);
  return "reason" in found ? `0x${a.toString(16)}` : symbolText(found.symbol.name, found.offset);
});

// ---- wall clock --------------------------------------------------------------------------------

const offsets: Partial<Record<"monotonic" | "boottime", bigint>> = {};

/**
 * Nanoseconds to add to a kernel clock's reading to get nanoseconds since the epoch: measured
 * once, in the addon, from back-to-back reads of CLOCK_REALTIME and the clock (the closest pair
 * of many). A change of the wall clock later (NTP stepping it) is not followed.
 */
export function clockOffsetNs(clock: "monotonic" | "boottime"): bigint {
  return (offsets[clock] ??= native().clockOffset(clock)[0]);
}

/** A `Date` from a `ktime` (CLOCK_MONOTONIC) or `boot_ns` (CLOCK_BOOTTIME) timestamp. */
export function wallclock(ns: bigint | number, clock: "monotonic" | "boottime"): Date {
  const offset = clockOffsetNs(clock);
  return new Date(Number((BigInt(ns) + offset) / 1_000_000n));
}

/** A decoded key that cannot be turned back into its number (a symbol name, a Date): look it up through entries() instead. */
export function notEncodable(decoder: string): never {
  throw new TypeError(`a map key decoded as ${decoder} cannot be encoded back: iterate entries() and compare instead`);
}
