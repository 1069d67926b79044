// RawMap (bytes in, bytes out, straight to the native fd ops) and TypedMap
// (codecs over reusable scratch buffers, so a get/set allocates only its result).
// TypedMap reads, clears and takes with the kernel's batch operations when the RawMap
// offers them and the kernel accepts them for the map, else with get_next_key.
import { BpfError } from "./errors.js";
import type { NativeMapInfo, NativeObject } from "./native.js";
import { withSubject } from "./values.js";

/** A fixed-size binary layout computed by the compiler; offsets are baked into the functions. */
export interface Codec<T> {
  readonly size: number;
  decode(view: DataView, offset: number): T;
  /** Must write all `size` bytes (zero padding). */
  encode(value: T, view: DataView, offset: number): void;
}

export interface RawMap {
  readonly name: string;
  readonly fd: number;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** false when absent (ENOENT). */
  lookup(key: Uint8Array, value: Uint8Array): boolean;
  /** flags: 0 any, 1 noexist, 2 exist; throws BpfError (EEXIST, ENOENT, E2BIG...). */
  update(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** false when absent. */
  delete(key: Uint8Array): boolean;
  /** false at end. `key` null starts from the first key. */
  nextKey(key: Uint8Array | null, next: Uint8Array): boolean;
  /**
   * Optional. One BPF_MAP_LOOKUP_BATCH of up to `keys.length / keySize` entries (values: that
   * many value slots). `inBatch` null starts at the beginning; pass the `outBatch` filled by
   * one call as `inBatch` of the next. Tokens are opaque, at least `batchTokenSize(keySize)`
   * bytes. `count` entries were read; `done` (ENOENT) means there are no more after them.
   * Throws BpfError: EINVAL/ENOTSUPP/EOPNOTSUPP when the kernel or map type has no batch
   * lookup, ENOSPC when a hash bucket holds more entries than the buffers.
   */
  lookupBatch?(inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array): BatchLookup;
  /**
   * Optional. One BPF_MAP_DELETE_BATCH of `keys.length / keySize` keys, in order; returns how
   * many were deleted. Fewer than given: the key at that position was absent and the rest
   * were not tried. Throws BpfError EINVAL/ENOTSUPP when the kernel or map type refuses.
   */
  deleteBatch?(keys: Uint8Array): number;
}

export interface BatchLookup {
  count: number;
  done: boolean;
}

/** Bytes for a batch token: a key for most maps, a u32 bucket index for hash maps. */
export function batchTokenSize(keySize: number): number {
  return Math.max(keySize, 8);
}

export const UPDATE_FLAGS = { any: 0, noexist: 1, exist: 2 } as const;

export class NativeRawMap implements RawMap {
  readonly name: string;
  readonly fd: number;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;

  constructor(
    private readonly object: NativeObject,
    private readonly index: number,
    info: NativeMapInfo,
  ) {
    this.name = info.name;
    this.fd = info.fd;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
  }

  lookup(key: Uint8Array, value: Uint8Array): boolean {
    return this.object.mapLookup(this.index, key, value);
  }
  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.object.mapUpdate(this.index, key, value, flags);
  }
  delete(key: Uint8Array): boolean {
    return this.object.mapDelete(this.index, key);
  }
  nextKey(key: Uint8Array | null, next: Uint8Array): boolean {
    return this.object.mapNextKey(this.index, key, next);
  }
  lookupBatch(inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array): BatchLookup {
    return this.object.mapLookupBatch(this.index, inBatch, outBatch, keys, values);
  }
  deleteBatch(keys: Uint8Array): number {
    return this.object.mapDeleteBatch(this.index, keys);
  }
}

interface Scratch {
  bytes: Uint8Array;
  view: DataView;
}

function scratch(size: number): Scratch {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer) };
}

const PER_CPU = /percpu/;
/** Array maps cannot delete: clear() zeroes their values instead. */
const ARRAY = /^(array|percpu_array)$/;

/** Errors meaning "this kernel or map type has no such batch operation". */
const REFUSED = new Set(["EINVAL", "ENOTSUPP", "EOPNOTSUPP", "ENOTSUP", "ENOSYS"]);
function refused(err: unknown): boolean {
  return err instanceof BpfError && REFUSED.has(err.code);
}

/** Batch operations a RawMap was seen to refuse; shared by every TypedMap over it. */
const refusedOps = new WeakMap<RawMap, { lookup?: true; delete?: true }>();
function refusedFor(raw: RawMap): { lookup?: true; delete?: true } {
  let r = refusedOps.get(raw);
  if (!r) refusedOps.set(raw, (r = {}));
  return r;
}

export interface TypedMapOptions {
  /**
   * Entries per batch syscall; default min(1024, maxEntries): fewer syscalls for the maps tools
   * read every interval, in buffers of ~1024 × (key + value) bytes kept from one read to the next.
   * Grown when a hash bucket does not fit.
   */
  batchSize?: number;
}

/** The buffers of one batch read; a TypedMap keeps those of its last finished read for the next. */
interface BatchBuffers {
  capacity: number;
  keys: Scratch;
  values: Scratch;
  inTok: Uint8Array;
  outTok: Uint8Array;
}

function batchBuffers(capacity: number, keySize: number, valueSize: number): BatchBuffers {
  const token = batchTokenSize(keySize);
  return { capacity, keys: scratch(capacity * keySize), values: scratch(capacity * valueSize), inTok: new Uint8Array(token), outTok: new Uint8Array(token) };
}

/**
 * Reads a map with BPF_MAP_LOOKUP_BATCH, one batch per `next()`, into its buffers, which it hands
 * to `release` once the map is read to its end (a read left half-way keeps them).
 * If the very first call is refused (no batch lookup for this kernel or map type), `refused`
 * is set and the caller falls back to get_next_key.
 */
class BatchReader {
  count = 0;
  refused = false;
  private started = false;
  private done = false;

  constructor(
    private readonly raw: RawMap & Required<Pick<RawMap, "lookupBatch">>,
    private readonly keySize: number,
    private readonly valueSize: number,
    private buffers: BatchBuffers,
    private readonly release: (buffers: BatchBuffers) => void,
  ) {}

  get keys(): Scratch {
    return this.buffers.keys;
  }

  get values(): Scratch {
    return this.buffers.values;
  }

  /** Fetches the next batch into keys/values (`count` entries); false when there are no more. */
  next(): boolean {
    const b = this.buffers;
    while (!this.done) {
      let r: BatchLookup;
      try {
        r = this.raw.lookupBatch(this.started ? b.inTok : null, b.outTok, b.keys.bytes, b.values.bytes);
      } catch (err) {
        // A hash batch returns whole buckets: ENOSPC when one does not fit. Grow and retry.
        if (err instanceof BpfError && err.code === "ENOSPC" && b.capacity < this.raw.maxEntries) {
          b.capacity = Math.min(b.capacity * 2, this.raw.maxEntries);
          b.keys = scratch(b.capacity * this.keySize);
          b.values = scratch(b.capacity * this.valueSize);
          continue;
        }
        if (!this.started && refused(err)) {
          refusedFor(this.raw).lookup = true;
          this.refused = true;
          this.done = true;
          return false;
        }
        throw err;
      }
      this.started = true;
      [b.inTok, b.outTok] = [b.outTok, b.inTok];
      this.done = r.done;
      this.count = r.count;
      if (r.count > 0) return true;
    }
    this.count = 0;
    this.release(b);
    return false;
  }
}

/** Bytes appended in pieces to one buffer that grows as needed. */
class ByteList {
  private buffer: Uint8Array;
  private length = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(capacity);
  }

  push(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * entries() over batch lookups. A plain iterator rather than a generator: resuming a generator
 * on every entry cost ~45 ns of the ~100 ns JS adds per entry of a 1M-entry map (bench/map-read.mjs).
 * When the first batch is refused it goes on with `fallback` (get_next_key).
 */
class BatchEntries<K, V> implements IterableIterator<[K, V]> {
  private i = 0;
  private finished = false;
  private rest: Iterator<[K, V]> | undefined;

  constructor(
    private readonly reader: BatchReader,
    private readonly key: Codec<K>,
    private readonly value: Codec<V>,
    private readonly fallback: () => Iterator<[K, V]>,
  ) {}

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this;
  }

  next(): IteratorResult<[K, V]> {
    const r = this.reader;
    if (this.i >= r.count) {
      if (this.rest) return this.rest.next();
      if (this.finished || !r.next()) {
        this.finished = true;
        if (!r.refused) return { value: undefined, done: true };
        this.rest = this.fallback();
        return this.rest.next();
      }
      this.i = 0;
    }
    const i = this.i++;
    return { value: [this.key.decode(r.keys.view, i * this.key.size), this.value.decode(r.values.view, i * this.value.size)], done: false };
  }
}

/** Typed view over a RawMap. */
export class TypedMap<K, V> {
  private readonly k: Scratch;
  private readonly v: Scratch;
  /** Entries each batch syscall reads or deletes. */
  readonly batchSize: number;
  /** Batch buffers reused from one whole-map read to the next: a tool reads its map every interval. */
  private idleBuffers: BatchBuffers | undefined;

  constructor(
    readonly raw: RawMap,
    private readonly key: Codec<K>,
    private readonly value: Codec<V>,
    options: TypedMapOptions = {},
  ) {
    if (key.size !== raw.keySize) {
      throw new RangeError(`map '${raw.name}': key codec is ${key.size} bytes but the map's key is ${raw.keySize} bytes`);
    }
    // Per-CPU values hold one slot per CPU; the codec sizes that, the native layer checks it.
    if (!PER_CPU.test(raw.type) && value.size !== raw.valueSize) {
      throw new RangeError(
        `map '${raw.name}': value codec is ${value.size} bytes but the map's value is ${raw.valueSize} bytes`,
      );
    }
    const batchSize = options.batchSize ?? Math.min(1024, raw.maxEntries);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`map '${raw.name}': batchSize must be a positive integer, got ${batchSize}`);
    }
    this.batchSize = batchSize;
    this.k = scratch(key.size);
    this.v = scratch(value.size);
  }

  get(key: K): V | undefined {
    this.encode("key", key);
    return this.raw.lookup(this.k.bytes, this.v.bytes) ? this.value.decode(this.v.view, 0) : undefined;
  }

  set(key: K, value: V, flags: keyof typeof UPDATE_FLAGS = "any"): void {
    const f = UPDATE_FLAGS[flags];
    if (f === undefined) throw new TypeError(`map '${this.raw.name}': flags must be "any", "noexist" or "exist"`);
    this.encode("key", key);
    this.encode("value", value);
    this.raw.update(this.k.bytes, this.v.bytes, f);
  }

  delete(key: K): boolean {
    this.encode("key", key);
    return this.raw.delete(this.k.bytes);
  }

  /**
   * The keys, read in batches (fallback: get_next_key). Not a snapshot: entries added or
   * removed meanwhile may or may not be seen. With get_next_key, deleting the current key
   * of a hash map while iterating may restart from the first key.
   */
  *keys(): IterableIterator<K> {
    const r = this.batchReader();
    if (r) {
      while (r.next()) for (let i = 0; i < r.count; i++) yield this.key.decode(r.keys.view, i * this.key.size);
      if (!r.refused) return;
    }
    for (const bytes of this.rawKeys()) yield this.key.decode(bytes.view, 0);
  }

  /** Key/value pairs, up to `batchSize` per syscall (fallback: get_next_key + lookup per key). */
  entries(): IterableIterator<[K, V]> {
    const r = this.batchReader();
    return r ? new BatchEntries(r, this.key, this.value, () => this.entriesByKey()) : this.entriesByKey();
  }

  /** entries() without batch lookups. */
  private *entriesByKey(): IterableIterator<[K, V]> {
    const value = scratch(this.value.size); // own buffer: the caller may get/set while iterating
    for (const k of this.rawKeys()) {
      if (!this.raw.lookup(k.bytes, value.bytes)) continue; // deleted meanwhile
      yield [this.key.decode(k.view, 0), this.value.decode(value.view, 0)];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Number of entries, counted by iterating (arrays: always maxEntries). */
  size(): number {
    const r = this.batchReader();
    let n = 0;
    if (r) {
      while (r.next()) n += r.count;
      if (!r.refused) return n;
    }
    for (const _ of this.rawKeys()) n++;
    return n;
  }

  /**
   * Removes every entry: collects the keys (batch lookup, else get_next_key), then deletes
   * them (batch delete, else one by one). Array maps cannot delete, so their values are
   * zeroed instead. Not atomic: entries the kernel inserts meanwhile may survive.
   */
  clear(): void {
    this.removeKeys(this.collectKeys());
  }

  /**
   * Reads every entry and removes exactly those it read, in one pass (bpftrace's `print` then
   * `clear`): an entry the kernel inserts meanwhile stays for the next take(); an update to an
   * entry between its read and its removal is lost. Array maps: the values read are zeroed.
   */
  take(): Array<[K, V]> {
    const ks = this.key.size;
    const vs = this.value.size;
    const out: Array<[K, V]> = [];
    const keys = new ByteList(Math.min(this.raw.maxEntries, 1024) * ks);
    const r = this.batchReader();
    let viaBatch = false;
    if (r) {
      while (r.next()) {
        keys.push(r.keys.bytes.subarray(0, r.count * ks));
        for (let i = 0; i < r.count; i++) out.push([this.key.decode(r.keys.view, i * ks), this.value.decode(r.values.view, i * vs)]);
      }
      viaBatch = !r.refused;
    }
    if (!viaBatch) {
      const value = scratch(vs);
      for (const k of this.rawKeys()) {
        if (!this.raw.lookup(k.bytes, value.bytes)) continue; // deleted meanwhile
        keys.push(k.bytes);
        out.push([this.key.decode(k.view, 0), this.value.decode(value.view, 0)]);
      }
    }
    this.removeKeys(keys.bytes());
    return out;
  }

  /** Deletes the concatenated `keys` (batch delete, else one by one); array maps zero them. */
  private removeKeys(keys: Uint8Array): void {
    const ks = this.key.size;
    const n = keys.length / ks;
    if (ARRAY.test(this.raw.type)) {
      const zero = new Uint8Array(this.value.size);
      for (let i = 0; i < n; i++) this.raw.update(keys.subarray(i * ks, (i + 1) * ks), zero, UPDATE_FLAGS.any);
      return;
    }
    let i = 0;
    const del = this.raw.deleteBatch?.bind(this.raw);
    const state = refusedFor(this.raw);
    while (del && !state.delete && i < n) {
      const chunk = Math.min(this.batchSize, n - i);
      let deleted: number;
      try {
        deleted = del(keys.subarray(i * ks, (i + chunk) * ks));
      } catch (err) {
        if (!refused(err)) throw err;
        state.delete = true;
        break;
      }
      i += deleted;
      if (deleted < chunk) i++; // the key at that position was already gone
    }
    for (; i < n; i++) this.raw.delete(keys.subarray(i * ks, (i + 1) * ks));
  }

  /** Encodes into the scratch buffer; a value the codec refuses is named with the map and its role. */
  private encode(role: "key", value: K): void;
  private encode(role: "value", value: V): void;
  private encode(role: "key" | "value", value: K | V): void {
    try {
      if (role === "key") this.key.encode(value as K, this.k.view, 0);
      else this.value.encode(value as V, this.v.view, 0);
    } catch (err) {
      throw withSubject(`map '${this.raw.name}' ${role}`, err);
    }
  }

  /** All keys, concatenated. */
  private collectKeys(): Uint8Array {
    const ks = this.key.size;
    const keys = new ByteList(Math.min(this.raw.maxEntries, 1024) * ks);
    const r = this.batchReader();
    let viaBatch = false;
    if (r) {
      while (r.next()) keys.push(r.keys.bytes.subarray(0, r.count * ks));
      viaBatch = !r.refused;
    }
    if (!viaBatch) for (const k of this.rawKeys()) keys.push(k.bytes);
    return keys.bytes();
  }

  /** A batch reader, or null when this RawMap has no batch lookup or it was refused before. */
  private batchReader(): BatchReader | null {
    const raw = this.raw;
    if (!raw.lookupBatch || refusedFor(raw).lookup) return null;
    // The buffers of the last read that finished, else new ones (a read still going keeps its own).
    const buffers = this.idleBuffers ?? batchBuffers(this.batchSize, this.key.size, this.value.size);
    this.idleBuffers = undefined;
    return new BatchReader(raw as RawMap & Required<Pick<RawMap, "lookupBatch">>, this.key.size, this.value.size, buffers, (b) => (this.idleBuffers = b));
  }

  /** Yields the current key in a buffer that is reused after the next step. */
  private *rawKeys(): Generator<Scratch> {
    let cur = scratch(this.key.size);
    let next = scratch(this.key.size);
    let first = true;
    while (this.raw.nextKey(first ? null : cur.bytes, next.bytes)) {
      first = false;
      [cur, next] = [next, cur];
      yield cur;
    }
  }
}

/**
 * A map declared without a key: one value (entry 0 of an array map of one entry), like a
 * bpftrace map without a key (`@total = count()`). One kept by min or max is a hash map of one
 * entry, and V includes undefined: it has no value until a program stores one.
 */
export class MapValue<V> {
  constructor(readonly map: TypedMap<number, V>) {}

  /** The value: zero (empty buckets for a histogram) until a program adds to it; undefined for an empty min/max. */
  get(): V {
    const value = this.map.get(0);
    if (value === undefined && ARRAY.test(this.map.raw.type)) {
      throw new RangeError(`map '${this.map.raw.name}' has no entry 0: it is not the one-value map the probe declared`);
    }
    return value as V;
  }

  set(value: V): void {
    this.map.set(0, value);
  }

  /** Back to zero (to no value, for min and max). */
  clear(): void {
    this.map.clear();
  }
}
