// RawMap (bytes in, bytes out, straight to the native fd ops) and TypedMap
// (codecs over reusable scratch buffers, so a get/set allocates only its result).
import type { NativeMapInfo, NativeObject } from "./native.js";

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

/** Typed view over a RawMap. */
export class TypedMap<K, V> {
  private readonly k: Scratch;
  private readonly v: Scratch;

  constructor(
    readonly raw: RawMap,
    private readonly key: Codec<K>,
    private readonly value: Codec<V>,
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
    this.k = scratch(key.size);
    this.v = scratch(value.size);
  }

  get(key: K): V | undefined {
    this.key.encode(key, this.k.view, 0);
    return this.raw.lookup(this.k.bytes, this.v.bytes) ? this.value.decode(this.v.view, 0) : undefined;
  }

  set(key: K, value: V, flags: keyof typeof UPDATE_FLAGS = "any"): void {
    const f = UPDATE_FLAGS[flags];
    if (f === undefined) throw new TypeError(`map '${this.raw.name}': flags must be "any", "noexist" or "exist"`);
    this.key.encode(key, this.k.view, 0);
    this.value.encode(value, this.v.view, 0);
    this.raw.update(this.k.bytes, this.v.bytes, f);
  }

  delete(key: K): boolean {
    this.key.encode(key, this.k.view, 0);
    return this.raw.delete(this.k.bytes);
  }

  /**
   * Walks the keys with get_next_key. Like the kernel's iteration, deleting
   * the current key while iterating a hash map may restart from the first key.
   */
  *keys(): IterableIterator<K> {
    for (const bytes of this.rawKeys()) yield this.key.decode(bytes.view, 0);
  }

  *entries(): IterableIterator<[K, V]> {
    const value = scratch(this.value.size); // own buffer: the caller may get/set while iterating
    for (const k of this.rawKeys()) {
      if (!this.raw.lookup(k.bytes, value.bytes)) continue; // deleted meanwhile
      yield [this.key.decode(k.view, 0), this.value.decode(value.view, 0)];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
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
