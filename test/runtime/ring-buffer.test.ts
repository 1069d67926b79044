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
    await expect(next).rejects.toMatchObject({ code: "EBADF", operation: "ringBuffer.poll" });
  });
});
