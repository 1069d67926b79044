// Pure tests of batch walking and of EventStream's flow control, over a fake
// native reader (the kernel tests cover the real one).
import { describe, expect, it } from "vitest";

import { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, walkBatch } from "../../src/runtime/index.js";
import { RingBufferStream } from "../../src/runtime/ring-buffer.js";
import type { NativeRingReader } from "../../src/runtime/native.js";

/** Builds a batch of raw ring records holding one u32 each (plus `extra` bytes). */
function batch(values: Array<number | { value: number; discard?: boolean; busy?: boolean; extra?: number }>): [ArrayBuffer, number] {
  const buf = new ArrayBuffer(4096);
  const view = new DataView(buf);
  let at = 0;
  for (const v of values) {
    const r = typeof v === "number" ? { value: v } : v;
    const len = 4 + (r.extra ?? 0);
    view.setUint32(at, len | (r.discard ? RINGBUF_DISCARD_BIT : 0) | (r.busy ? RINGBUF_BUSY_BIT : 0), true);
    view.setUint32(at + 4, 0xdead, true); // pgoff: ignored by readers
    view.setUint32(at + 8, r.value, true);
    at += 8 + ((len + 7) & ~7);
  }
  return [buf, at];
}

describe("walkBatch", () => {
  it("visits submitted records, skips discarded ones and honours padding", () => {
    const [buf, len] = batch([1, { value: 2, discard: true }, { value: 3, extra: 5 }, 4]);
    const seen: Array<[number, number]> = [];
    const view = new DataView(buf);
    const stats = walkBatch(view, len, (offset, length) => seen.push([view.getUint32(offset, true), length]));
    expect(seen).toEqual([
      [1, 4],
      [3, 9],
      [4, 4],
    ]);
    expect(stats).toEqual({ records: 3, discarded: 1 });
  });

  it("stops at a busy record and at a truncated one", () => {
    const [buf, len] = batch([1, { value: 2, busy: true }, 3]);
    const seen: number[] = [];
    walkBatch(new DataView(buf), len, (o) => seen.push(o));
    expect(seen).toHaveLength(1);
    const [buf2] = batch([1, 2]);
    expect(walkBatch(new DataView(buf2), 20, () => {}).records).toBe(1); // second record cut off
  });
});

class FakeReader implements NativeRingReader {
  running = false;
  refed = false;
  closed = false;
  constructor(readonly deliver: (b: ArrayBuffer | null, n: number) => void) {}
  start() { this.running = true; }
  pause() { this.running = false; }
  ref() { this.refed = true; }
  unref() { this.refed = false; }
  drain() { return 0; }
  close() { this.closed = true; this.running = false; }
  push(values: number[]) {
    const [buf, len] = batch(values);
    this.deliver(buf, len);
  }
}

function makeStream(highWaterMark = 4) {
  let reader!: FakeReader;
  let closedCalls = 0;
  const stream = new RingBufferStream<number>(
    (onBatch) => (reader = new FakeReader(onBatch)),
    (view, offset) => view.getUint32(offset, true),
    { highWaterMark },
    () => closedCalls++,
  );
  return { stream, reader, closedCalls: () => closedCalls };
}

describe("RingBufferStream", () => {
  it("polls and holds a ref only while someone listens", () => {
    const { stream, reader } = makeStream();
    expect(reader).toMatchObject({ running: false, refed: false });
    const off = stream.on(() => {});
    expect(reader).toMatchObject({ running: true, refed: true });
    off();
    expect(reader).toMatchObject({ running: false, refed: false });
  });

  it("delivers one batch to listeners and iterators in order", async () => {
    const { stream, reader } = makeStream(100);
    const heard: number[] = [];
    stream.on((e) => heard.push(e));
    const it = stream[Symbol.asyncIterator]();
    reader.push([1, 2, 3]);
    expect(heard).toEqual([1, 2, 3]);
    expect([(await it.next()).value, (await it.next()).value, (await it.next()).value]).toEqual([1, 2, 3]);
  });

  it("pauses at highWaterMark and resumes below half of it", async () => {
    const { stream, reader } = makeStream(4);
    const it = stream[Symbol.asyncIterator]();
    expect(reader.running).toBe(true);
    reader.push([1, 2, 3, 4, 5]);
    expect(reader.running).toBe(false); // kernel keeps the rest meanwhile
    await it.next(); // 4 left
    await it.next(); // 3 left
    expect(reader.running).toBe(false);
    await it.next(); // 2 left = low-water mark
    expect(reader.running).toBe(true);
    expect(stream.dropped).toBe(0);
  });

  it("resumes for the remaining listeners when a paused iterator is abandoned", async () => {
    const { stream, reader } = makeStream(2);
    const heard: number[] = [];
    stream.on((e) => heard.push(e));
    const it = stream[Symbol.asyncIterator]();
    reader.push([1, 2, 3]);
    expect(reader.running).toBe(false);
    await it.return?.();
    expect(reader.running).toBe(true);
    reader.push([4]);
    expect(heard).toEqual([1, 2, 3, 4]);
  });

  it("ends a pending for-await on close, after queued events", async () => {
    const { stream, reader, closedCalls } = makeStream(100);
    const seen: number[] = [];
    const loop = (async () => {
      for await (const e of stream) seen.push(e);
      return "ended";
    })();
    reader.push([7, 8]);
    await new Promise((r) => setTimeout(r, 0));
    stream.close();
    stream.close();
    await expect(loop).resolves.toBe("ended");
    expect(seen).toEqual([7, 8]);
    expect(reader.closed).toBe(true);
    expect(closedCalls()).toBe(1);
    expect(await stream[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true });
  });

  it("counts decoder failures as dropped and rethrows after the batch", () => {
    let reader!: FakeReader;
    const stream = new RingBufferStream<number>(
      (onBatch) => (reader = new FakeReader(onBatch)),
      (view, offset) => {
        const v = view.getUint32(offset, true);
        if (v === 2) throw new Error("bad record");
        return v;
      },
      {},
      () => {},
    );
    const heard: number[] = [];
    stream.on((e) => heard.push(e));
    expect(() => reader.push([1, 2, 3])).toThrow("bad record");
    expect(heard).toEqual([1, 3]);
    expect(stream.dropped).toBe(1);
  });

  it("rejects a pending iterator when polling fails", async () => {
    const { stream, reader } = makeStream();
    const next = stream[Symbol.asyncIterator]().next();
    reader.deliver(null, 9);
    await expect(next).rejects.toMatchObject({ code: "EBADF", operation: "ringBuffer.drain" });
  });

  it("batches(): one array per drain, discarded records skipped, shared with per-event iterators", async () => {
    const { stream, reader } = makeStream(100);
    const batches = stream.batches();
    const events = stream[Symbol.asyncIterator]();
    const first = batches.next(); // pending: woken with the whole first batch
    const [buf, len] = batch([1, { value: 99, discard: true }, 2, { value: 3, extra: 13 }]);
    reader.deliver(buf, len);
    reader.push([4, 5]);
    expect((await first).value).toEqual([1, 2, 3]);
    expect((await batches.next()).value).toEqual([4, 5]);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await events.next()).value as number);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    stream.close();
    expect(await batches.next()).toEqual({ value: undefined, done: true });
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });

  it("an iterator started by a listener mid-batch begins with the event being delivered", async () => {
    const { stream, reader } = makeStream(100);
    let it: AsyncIterator<number> | undefined;
    let batchIt: AsyncIterator<readonly number[]> | undefined;
    stream.on((e) => {
      if (e === 2) {
        it = stream[Symbol.asyncIterator]();
        batchIt = stream.batches();
      }
    });
    reader.push([1, 2, 3]);
    reader.push([4]);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push((await it!.next()).value as number);
    expect(got).toEqual([2, 3, 4]);
    expect((await batchIt!.next()).value).toEqual([2, 3]);
    expect((await batchIt!.next()).value).toEqual([4]);
  });

  it("a listener that unsubscribes or closes mid-batch hears nothing after it", () => {
    const { stream, reader } = makeStream(100);
    const a: number[] = [];
    const b: number[] = [];
    const offA = stream.on((e) => {
      a.push(e);
      if (e === 2) offA();
    });
    stream.on((e) => {
      b.push(e);
      if (e === 3) stream.close();
    });
    reader.push([1, 2, 3, 4]);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2, 3]);
  });

  it("delivers a batch larger than 1 MiB to listeners and iterators, in order, and counts it against highWaterMark", async () => {
    const n = 60_000; // 60 000 records of 24 bytes with their headers: 1.4 MiB
    const buf = new ArrayBuffer(n * 24);
    const view = new DataView(buf);
    for (let i = 0; i < n; i++) {
      view.setUint32(i * 24, i % 10 === 9 ? 16 | RINGBUF_DISCARD_BIT : 16, true);
      view.setUint32(i * 24 + 8, i, true);
    }
    const { stream, reader } = makeStream(100_000);
    let heard = 0;
    let order = 0;
    stream.on((e) => {
      const k = heard % 54_000; // k-th submitted record of its batch: every 10th was discarded
      if (e !== k + Math.floor(k / 9)) order++;
      heard++;
    });
    const it = stream[Symbol.asyncIterator]();
    reader.deliver(buf, buf.byteLength);
    expect(reader.running).toBe(true); // 54 000 queued < 100 000
    reader.deliver(buf, buf.byteLength);
    expect(heard).toBe(2 * 54_000);
    expect(order).toBe(0);
    expect(reader.running).toBe(false); // 108 000 queued >= highWaterMark
    const got: number[] = [];
    for (let i = 0; i < 58_001; i++) got.push((await it.next()).value as number);
    expect(reader.running).toBe(true); // 49 999 left <= low-water mark 50 000
    expect(got.slice(0, 54_000).every((v, k) => v === k + Math.floor(k / 9))).toBe(true);
    expect(got.slice(54_000).every((v, k) => v === k + Math.floor(k / 9))).toBe(true);
    expect(stream.dropped).toBe(0);
  });
});
