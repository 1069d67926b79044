// TypedMap over the kernel's batch operations (BPF_MAP_LOOKUP_BATCH / DELETE_BATCH)
// and the get_next_key fallback. The maps come from a maps-only object compiled here.
import { describe, expect, it } from "vitest";

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  BpfError,
  loadObject,
  perCpuCodec,
  possibleCpus,
  TypedMap,
  type ObjectDefinition,
  type RawMap,
} from "../../src/runtime/index.js";
import { bpfSupport, skipNote, u32, u64 } from "./helpers.js";

const SOURCE = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4096); } hash SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __type(key, __u32); __type(value, __u64); __uint(max_entries, 512); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 300); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __type(key, __u32); __type(value, __u32); __uint(max_entries, 1024); } pchash SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 16); } parr SEC(".maps");
char LICENSE[] SEC("license") = "GPL";
`;

function definition(): ObjectDefinition {
  const dir = join(tmpdir(), `probegen-map-batch-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "maps.bpf.c"), SOURCE);
  execFileSync(
    "clang",
    ["-g", "-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", join(dir, "maps.bpf.c"), "-o", join(dir, "maps.bpf.o")],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return {
    name: "maps",
    source: "test/runtime/map-batch.test.ts",
    object: new Uint8Array(readFileSync(join(dir, "maps.bpf.o"))),
    programs: [],
    maps: [],
  };
}

const support = await bpfSupport();
skipNote(support, "map-batch.test.ts");

const u32Sum = (a: number, b: number) => a + b;

/** A RawMap whose batch methods are counted, and optionally fail with `errno`. */
function wrap(raw: RawMap, fail?: { lookup?: number; delete?: number }) {
  const calls = { lookupBatch: 0, deleteBatch: 0, nextKey: 0, lookup: 0, delete: 0, enospc: 0 };
  const refuse = (op: string, errno: number) => new BpfError({ operation: op, errno, detail: `simulated ${op} refusal` });
  const wrapped: RawMap = {
    name: raw.name, fd: raw.fd, type: raw.type, keySize: raw.keySize, valueSize: raw.valueSize, maxEntries: raw.maxEntries,
    lookup: (k, v) => (calls.lookup++, raw.lookup(k, v)),
    update: (k, v, f) => raw.update(k, v, f),
    delete: (k) => (calls.delete++, raw.delete(k)),
    nextKey: (k, n) => (calls.nextKey++, raw.nextKey(k, n)),
    lookupBatch: (i, o, k, v) => {
      calls.lookupBatch++;
      if (fail?.lookup) throw refuse("map.lookupBatch", fail.lookup);
      try {
        return raw.lookupBatch!(i, o, k, v);
      } catch (err) {
        if (err instanceof BpfError && err.code === "ENOSPC") calls.enospc++;
        throw err;
      }
    },
    deleteBatch: (k) => {
      calls.deleteBatch++;
      if (fail?.delete) throw refuse("map.deleteBatch", fail.delete);
      return raw.deleteBatch!(k);
    },
  };
  return { raw: wrapped, calls };
}

describe.skipIf(!support.ok)("TypedMap batch operations against the kernel", () => {
  const load = () => loadObject(definition(), { attach: false });

  it("gives two interleaved reads of one map every entry each (each read has its own batch buffers)", async () => {
    using o = await load();
    const m = new TypedMap(o.map("hash"), u32, u64, { batchSize: 16 });
    for (let i = 0; i < 200; i++) m.set(i, BigInt(i) * 5n);
    const drain = (it: Iterator<[number, bigint]>, into: Map<number, bigint>, steps: number) => {
      for (let s = 0; s < steps; s++) {
        const r = it.next();
        if (r.done) return true;
        into.set(r.value[0], r.value[1]);
      }
      return false;
    };
    // A first read to its end leaves its buffers for the next; then two reads take turns.
    expect([...m.entries()]).toHaveLength(200);
    const a = new Map<number, bigint>();
    const b = new Map<number, bigint>();
    const ia = m.entries();
    const ib = m.entries();
    let doneA = false;
    let doneB = false;
    while (!doneA || !doneB) {
      if (!doneA) doneA = drain(ia, a, 7);
      if (!doneB) doneB = drain(ib, b, 11);
      // A third read that finishes in between hands its buffers back while a and b go on.
      expect(m.size()).toBe(200);
    }
    for (const seen of [a, b]) {
      expect(seen.size).toBe(200);
      for (let i = 0; i < 200; i++) expect(seen.get(i)).toBe(BigInt(i) * 5n);
    }
  });

  it("reads 1000 hash entries exactly once through batch lookups, then clear() empties the map", async () => {
    using o = await load();
    const { raw, calls } = wrap(o.map("hash"));
    const m = new TypedMap(raw, u32, u64);
    for (let i = 0; i < 1000; i++) m.set(i * 7 + 1, BigInt(i) * 3n);

    const seen = new Map<number, bigint>();
    let dupes = 0;
    for (const [k, v] of m.entries()) {
      if (seen.has(k)) dupes++;
      seen.set(k, v);
    }
    expect(dupes).toBe(0);
    expect(seen.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(seen.get(i * 7 + 1)).toBe(BigInt(i) * 3n);
    // 1000 entries at batchSize per call: a handful of syscalls, no per-key walk.
    expect(calls.lookupBatch).toBeGreaterThanOrEqual(Math.ceil(1000 / m.batchSize));
    expect(calls.lookupBatch).toBeLessThan(20);
    expect(calls.nextKey).toBe(0);
    expect(calls.lookup).toBe(0);

    expect(new Set(m.keys()).size).toBe(1000);
    expect(m.size()).toBe(1000);

    calls.lookupBatch = 0;
    m.clear();
    expect(calls.deleteBatch).toBeGreaterThan(0);
    expect(calls.deleteBatch).toBeLessThanOrEqual(4);
    expect(calls.delete).toBe(0);
    expect(m.size()).toBe(0);
    expect([...m.entries()]).toEqual([]);
    expect(m.get(1)).toBeUndefined();
    expect(calls.nextKey).toBe(0);
  });

  it("handles small batches (many calls), and an empty map", async () => {
    using o = await load();
    const { raw, calls } = wrap(o.map("hash"));
    const m = new TypedMap(raw, u32, u64, { batchSize: 7 });
    expect([...m.entries()]).toEqual([]);
    expect(m.size()).toBe(0);
    m.clear(); // nothing to do
    for (let i = 0; i < 100; i++) m.set(i, BigInt(i));
    const keys = [...m.keys()].sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(calls.lookupBatch).toBeGreaterThan(10);
    m.clear();
    expect(m.size()).toBe(0);
    expect(calls.delete).toBe(0);
  });

  it("grows the batch when a hash bucket does not fit (ENOSPC) and still reads every entry once", async () => {
    using o = await load();
    const { raw, calls } = wrap(o.map("hash"));
    const m = new TypedMap(raw, u32, u64, { batchSize: 1 });
    for (let i = 0; i < 1000; i++) m.set(i * 13, 1n); // 1000 keys in 4096 buckets: some share a bucket
    const keys = [...m.keys()];
    expect(keys.length).toBe(1000);
    expect(new Set(keys).size).toBe(1000);
    expect(calls.nextKey).toBe(0);
    // small batches: whole buckets of a randomly seeded hash, so the batch ends at 4 or 8 (a bucket
    // of 5+ of 1000 keys in 4096 buckets happens), never near 1000
    expect(calls.lookupBatch).toBeGreaterThan(1000 / 16);
    expect(calls.enospc).toBeGreaterThan(0); // a bucket held 2+ entries...
    expect(calls.lookupBatch).toBeLessThan(1100); // ...and the batch grew (it never shrinks)
  });

  it("clear() skips keys that vanished between the read and the batch delete", async () => {
    using o = await load();
    const inner = o.map("hash");
    const m0 = new TypedMap(inner, u32, u64);
    // Delete some keys right before each batch delete, as a racing program would.
    let sabotaged = 0;
    const racing: RawMap = Object.assign(Object.create(inner) as RawMap, {
      deleteBatch(keys: Uint8Array) {
        if (sabotaged < 3) {
          const k = keys.slice(4 * 5, 4 * 6); // the 6th key of this chunk
          inner.delete(k);
          sabotaged++;
        }
        return inner.deleteBatch!(keys);
      },
    });
    for (let i = 0; i < 50; i++) m0.set(i, 1n);
    const m = new TypedMap(racing, u32, u64, { batchSize: 16 });
    m.clear();
    expect(sabotaged).toBe(3);
    expect(m0.size()).toBe(0);
  });

  it("take() returns every entry and removes exactly those: one inserted after the read stays", async () => {
    using o = await load();
    const inner = o.map("hash");
    const { raw, calls } = wrap(inner);
    const m0 = new TypedMap(inner, u32, u64);
    // A program inserting a key between take()'s read and its delete.
    let inserted = false;
    const racing: RawMap = Object.assign(Object.create(raw) as RawMap, {
      deleteBatch(keys: Uint8Array) {
        if (!inserted) m0.set(9999, 7n);
        inserted = true;
        return raw.deleteBatch!(keys);
      },
    });
    for (let i = 0; i < 600; i++) m0.set(i, BigInt(i));
    const m = new TypedMap(racing, u32, u64);
    const taken = m.take();
    expect(new Map(taken)).toEqual(new Map(Array.from({ length: 600 }, (_, i) => [i, BigInt(i)])));
    expect(inserted).toBe(true);
    expect([...m0.entries()]).toEqual([[9999, 7n]]);
    // Batches only: a few lookups and deletes, nothing per key.
    expect(calls.lookupBatch).toBeLessThan(10);
    expect(calls.nextKey + calls.lookup + calls.delete).toBe(0);
    expect(m.take()).toEqual([[9999, 7n]]);
    expect(m.take()).toEqual([]);
  });

  it("take() on an array map returns every slot and zeroes them", async () => {
    using o = await load();
    const m = new TypedMap(o.map("arr"), u32, u64);
    m.set(5, 3n);
    const taken = m.take();
    expect(taken).toHaveLength(300);
    expect(taken[5]).toEqual([5, 3n]);
    expect(m.get(5)).toBe(0n);
  });

  it("LRU hash maps read and clear through the batch path too", async () => {
    using o = await load();
    const { raw, calls } = wrap(o.map("lru"));
    const m = new TypedMap(raw, u32, u64);
    for (let i = 0; i < 200; i++) m.set(i, BigInt(i));
    expect(new Map(m).size).toBe(200);
    m.clear();
    expect(m.size()).toBe(0);
    expect(calls.nextKey).toBe(0);
    expect(calls.delete).toBe(0);
  });

  it("array maps: entries() reads every slot in batches; clear() zeroes the values", async () => {
    using o = await load();
    const { raw, calls } = wrap(o.map("arr"));
    const m = new TypedMap(raw, u32, u64);
    for (let i = 0; i < 300; i++) m.set(i, BigInt(i + 1));
    const entries = [...m.entries()];
    expect(entries.length).toBe(300);
    expect(entries.map(([k]) => k)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(entries.every(([k, v]) => v === BigInt(k + 1))).toBe(true);
    // The kernel does batch lookups of arrays (generic implementation): record which path ran.
    const viaBatch = calls.nextKey === 0;
    console.info(`[map-batch.test.ts] array entries(): ${viaBatch ? "batch lookup" : "get_next_key fallback"} (${calls.lookupBatch} batch calls, ${calls.nextKey} next-key calls)`);
    expect(m.size()).toBe(300);

    m.clear();
    expect(m.size()).toBe(300); // arrays always hold max_entries slots
    expect([...m.entries()].every(([, v]) => v === 0n)).toBe(true);
    expect(calls.delete).toBe(0); // no per-key deletes: arrays cannot delete
  });

  it("decodes per-CPU hash values from batch lookups (one 8-byte slot per possible CPU)", async () => {
    using o = await load();
    const { raw, calls } = wrap(o.map("pchash"));
    const codec = perCpuCodec(u32, u32Sum);
    const cpus = possibleCpus();
    expect(codec.size).toBe(8 * cpus);
    const m = new TypedMap(raw, u32, codec, { batchSize: 32 });
    for (let i = 0; i < 100; i++) m.set(i, { perCpu: Array.from({ length: cpus }, (_, c) => i * 1000 + c), total: 0 });
    const got = new Map(m.entries());
    expect(got.size).toBe(100);
    for (let i = 0; i < 100; i++) {
      const v = got.get(i)!;
      expect(v.perCpu).toEqual(Array.from({ length: cpus }, (_, c) => i * 1000 + c));
      expect(v.total).toBe(i * 1000 * cpus + (cpus * (cpus - 1)) / 2);
    }
    expect(calls.lookupBatch).toBeGreaterThanOrEqual(4);
    expect(calls.nextKey).toBe(0);
    m.clear();
    expect(m.size()).toBe(0);
  });

  it("per-CPU arrays: entries() and clear() (zeroing every CPU's slot)", async () => {
    using o = await load();
    const m = new TypedMap(o.map("parr"), u32, perCpuCodec(u64, (a, b) => a + b));
    const cpus = possibleCpus();
    m.set(3, { perCpu: Array.from({ length: cpus }, () => 2n), total: 0n });
    expect(new Map(m).get(3)!.total).toBe(2n * BigInt(cpus));
    m.clear();
    expect([...m.entries()].every(([, v]) => v.total === 0n)).toBe(true);
  });

  for (const [errno, code] of [[22, "EINVAL"], [524, "ENOTSUPP"], [95, "EOPNOTSUPP"]] as const) {
    it(`falls back to get_next_key when batch lookup/delete fail with ${code}, and remembers it`, async () => {
      using o = await load();
      const { raw, calls } = wrap(o.map("hash"), { lookup: errno, delete: errno });
      const m = new TypedMap(raw, u32, u64);
      for (let i = 0; i < 300; i++) m.set(i, BigInt(i));
      const got = new Map(m.entries());
      expect(got.size).toBe(300);
      expect(got.get(299)).toBe(299n);
      expect(calls.lookupBatch).toBe(1); // tried once, refused
      expect(calls.nextKey).toBe(301);
      expect(new Set(m.keys()).size).toBe(300);
      expect(m.size()).toBe(300);
      expect(calls.lookupBatch).toBe(1); // not retried
      m.clear();
      expect(calls.deleteBatch).toBe(1);
      expect(calls.delete).toBe(300);
      expect(m.size()).toBe(0);
      // A second TypedMap over the same RawMap shares what was learned.
      new TypedMap(raw, u32, u64).size();
      expect(calls.lookupBatch).toBe(1);
      // take() falls back the same way: every entry, then one delete per key.
      for (let i = 0; i < 50; i++) m.set(i, BigInt(i));
      expect(new Map(m.take())).toEqual(new Map(Array.from({ length: 50 }, (_, i) => [i, BigInt(i)])));
      expect(calls.delete).toBe(350);
      expect(m.size()).toBe(0);
    });
  }

  it("works over a RawMap without the optional batch methods (older implementations)", async () => {
    using o = await load();
    const inner = o.map("hash");
    const { lookupBatch: _l, deleteBatch: _d, ...plain } = wrap(inner).raw;
    const m = new TypedMap(plain as RawMap, u32, u64);
    for (let i = 0; i < 20; i++) m.set(i, 1n);
    expect(m.size()).toBe(20);
    m.clear();
    expect(m.size()).toBe(0);
  });

  it("does not swallow other batch errors (ENOMEM propagates)", async () => {
    using o = await load();
    const { raw } = wrap(o.map("hash"), { lookup: 12 });
    const m = new TypedMap(raw, u32, u64);
    expect(() => [...m.entries()]).toThrow(expect.objectContaining({ code: "ENOMEM" }));
  });

  it("RawMap.lookupBatch / deleteBatch: native argument checks and the ENOENT contract", async () => {
    using o = await load();
    const raw = o.map("hash");
    const tok = () => new Uint8Array(8);
    expect(() => raw.lookupBatch!(null, tok(), new Uint8Array(6), new Uint8Array(16))).toThrow(/multiple of 4 bytes/);
    expect(() => raw.lookupBatch!(null, tok(), new Uint8Array(8), new Uint8Array(8))).toThrow(/values .* must be 16 bytes/);
    expect(() => raw.lookupBatch!(null, new Uint8Array(2), new Uint8Array(8), new Uint8Array(16))).toThrow(/at least 4 bytes/);
    expect(() => raw.deleteBatch!(new Uint8Array(0))).toThrow(RangeError);

    // Empty map: done at once, nothing read.
    expect(raw.lookupBatch!(null, tok(), new Uint8Array(4 * 4), new Uint8Array(8 * 4))).toEqual({ count: 0, done: true });
    const m = new TypedMap(raw, u32, u64);
    m.set(1, 10n);
    m.set(2, 20n);
    const keys = new Uint8Array(4 * 8);
    const r = raw.lookupBatch!(null, tok(), keys, new Uint8Array(8 * 8));
    expect(r).toEqual({ count: 2, done: true }); // the last batch comes with ENOENT
    // Delete [1, 99, 2]: stops at the absent 99 after deleting one.
    const del = new Uint8Array(12);
    const v = new DataView(del.buffer);
    v.setUint32(0, 1, true);
    v.setUint32(4, 99, true);
    v.setUint32(8, 2, true);
    expect(raw.deleteBatch!(del)).toBe(1);
    expect(m.get(1)).toBeUndefined();
    expect(m.get(2)).toBe(20n);

    // Arrays: does the kernel batch-delete? (It should refuse: arrays cannot delete.)
    const arr = o.map("arr");
    let err: unknown;
    try {
      arr.deleteBatch!(new Uint8Array(4));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    console.info(`[map-batch.test.ts] array deleteBatch refused with ${(err as BpfError).code}`);
    expect(["EINVAL", "ENOTSUPP", "EOPNOTSUPP"]).toContain((err as BpfError).code);
  });

  it("refuses batch ops after close() with EBADF", async () => {
    const o = await load();
    const raw = o.map("hash");
    o.close();
    expect(() => raw.lookupBatch!(null, new Uint8Array(8), new Uint8Array(4), new Uint8Array(8))).toThrow(
      expect.objectContaining({ code: "EBADF" }),
    );
  });
});
