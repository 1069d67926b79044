// EventStream over one native ring reader. Native code hands over one batch of
// raw ring records per drain; this module walks their headers, decodes each
// record and fans events out to listeners and async iterators. Back-pressure:
// when an iterator's queue passes highWaterMark the reader stops polling, so the
// kernel (which counts drops) absorbs bursts instead of Node's heap.
import { BpfError } from "./errors.js";
import type { NativeRingReader } from "./native.js";

/** Called once per ring-buffer record; `offset` is where the record's bytes start in `view`, `length` its length. */
export type RecordDecoder<E> = (view: DataView, offset: number, length: number) => E;

/** Decoded events from one ring buffer. Async-iterable and callback-able; one native->JS call per batch. */
export interface EventStream<E> extends AsyncIterable<E> {
  /** Returns unsubscribe. */
  on(listener: (event: E) => void): () => void;
  /** Userspace drops (records whose decoder threw); back-pressure pauses the reader instead of dropping. */
  readonly dropped: number;
  close(): void;
}

export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;
export const RINGBUF_HDR_SZ = 8;

export interface BatchStats {
  records: number;
  discarded: number;
}

/**
 * Walks a batch of raw ring records: 8-byte header (u32 len with busy/discard
 * bits, u32 pgoff), then `len` bytes, padded to 8. Calls `visit` for every
 * record that was submitted (discarded ones are skipped).
 */
export function walkBatch(view: DataView, length: number, visit: (offset: number, length: number) => void): BatchStats {
  let records = 0;
  let discarded = 0;
  let at = 0;
  while (at + RINGBUF_HDR_SZ <= length) {
    const header = view.getUint32(at, true);
    if (header & RINGBUF_BUSY_BIT) break; // native never copies busy records; be safe anyway
    const len = header & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
    const body = at + RINGBUF_HDR_SZ;
    if (body + len > length) break; // truncated batch
    if (header & RINGBUF_DISCARD_BIT) discarded++;
    else {
      records++;
      visit(body, len);
    }
    at = body + ((len + 7) & ~7);
  }
  return { records, discarded };
}

/** A FIFO with O(1) shift, for per-iterator event queues. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Consumer<E> {
  queue: Queue<E>;
  wake?: (result: IteratorResult<E>) => void;
  fail?: (err: unknown) => void;
  error?: unknown;
}

export interface RingBufferOptions {
  /** Events queued for one iterator before the reader pauses. Default 65536. */
  highWaterMark?: number;
}

export class RingBufferStream<E> implements EventStream<E> {
  #dropped = 0;
  #closed = false;
  #paused = false; // by back-pressure
  #running = false;
  #reader: NativeRingReader;
  readonly #decode: RecordDecoder<E>;
  readonly #listeners = new Set<(event: E) => void>();
  readonly #consumers = new Set<Consumer<E>>();
  readonly #highWaterMark: number;
  readonly #lowWaterMark: number;
  #view: DataView | undefined;
  readonly #onClose: () => void;

  /** `open` creates the native reader with this stream's batch handler. */
  constructor(
    open: (onBatch: (batch: ArrayBuffer | null, length: number) => void) => NativeRingReader,
    decode: RecordDecoder<E>,
    options: RingBufferOptions,
    onClose: () => void,
  ) {
    const hwm = options.highWaterMark ?? 65536;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError(`highWaterMark must be a positive integer, got ${hwm}`);
    this.#highWaterMark = hwm;
    this.#lowWaterMark = Math.floor(hwm / 2);
    this.#decode = decode;
    this.#onClose = onClose;
    this.#reader = open((batch, length) => this.#onBatch(batch, length));
    this.#reader.unref();
  }

  get dropped(): number {
    return this.#dropped;
  }

  on(listener: (event: E) => void): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(listener);
    this.#update();
    return () => {
      this.#listeners.delete(listener);
      this.#update();
    };
  }

  /** Drain now instead of waiting for the poll or the timer. */
  flush(): void {
    if (!this.#closed) this.#reader.drain();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#running = false;
    this.#reader.close();
    this.#listeners.clear();
    for (const c of this.#consumers) {
      if (c.wake && c.queue.length === 0) {
        const wake = c.wake;
        c.wake = c.fail = undefined;
        wake({ value: undefined, done: true });
      }
    }
    this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    const consumer: Consumer<E> = { queue: new Queue<E>() };
    const finish = (): IteratorResult<E> => {
      this.#consumers.delete(consumer);
      if (this.#paused) this.#maybeResume(); // a slow consumer leaving must not stall the others
      else this.#update();
      return { value: undefined, done: true };
    };
    if (!this.#closed) {
      this.#consumers.add(consumer);
      this.#update();
    }
    return {
      next: (): Promise<IteratorResult<E>> => {
        if (consumer.queue.length > 0) {
          const value = consumer.queue.shift() as E;
          if (this.#paused && consumer.queue.length <= this.#lowWaterMark) this.#maybeResume();
          return Promise.resolve({ value, done: false });
        }
        if (consumer.error !== undefined) {
          const err = consumer.error;
          finish();
          return Promise.reject(err);
        }
        if (this.#closed || !this.#consumers.has(consumer)) return Promise.resolve(finish());
        return new Promise<IteratorResult<E>>((resolve, reject) => {
          consumer.wake = resolve;
          consumer.fail = reject;
        });
      },
      return: (): Promise<IteratorResult<E>> => Promise.resolve(finish()),
    };
  }

  #onBatch(batch: ArrayBuffer | null, length: number): void {
    if (this.#closed) return;
    if (batch === null) {
      this.#failAll(
        new BpfError({ operation: "ringBuffer.poll", errno: length, detail: "polling the ring buffer failed" }),
      );
      return;
    }
    if (this.#view?.buffer !== batch) this.#view = new DataView(batch); // native replaces it only to grow
    const view = this.#view;
    const decode = this.#decode;
    const listeners = this.#listeners;
    const consumers = this.#consumers;
    let thrown: unknown;
    walkBatch(view, length, (offset, len) => {
      let event: E;
      try {
        event = decode(view, offset, len);
      } catch (err) {
        this.#dropped++;
        thrown ??= err;
        return;
      }
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          thrown ??= err;
        }
      }
      for (const c of consumers) {
        if (c.wake) {
          const wake = c.wake;
          c.wake = c.fail = undefined;
          wake({ value: event, done: false });
        } else {
          c.queue.push(event);
        }
      }
    });
    for (const c of consumers) {
      if (c.queue.length >= this.#highWaterMark) {
        this.#paused = true;
        this.#update();
        break;
      }
    }
    // Like an EventEmitter: a throwing listener/decoder surfaces as an uncaught
    // exception, but only after the whole batch was delivered to everyone else.
    if (thrown !== undefined) throw thrown;
  }

  #failAll(err: unknown): void {
    for (const c of this.#consumers) {
      if (c.fail) {
        const fail = c.fail;
        c.wake = c.fail = undefined;
        this.#consumers.delete(c);
        fail(err);
      } else {
        c.error = err;
      }
    }
    if (this.#paused) this.#maybeResume();
    else this.#update();
  }

  #maybeResume(): void {
    for (const c of this.#consumers) if (c.queue.length > this.#lowWaterMark) return;
    this.#paused = false;
    this.#update();
  }

  /** Polls (and keeps the process alive) only while someone listens and nothing is paused. */
  #update(): void {
    if (this.#closed) return;
    const want = !this.#paused && (this.#listeners.size > 0 || this.#consumers.size > 0);
    if (want === this.#running) return;
    this.#running = want;
    if (want) {
      this.#reader.ref();
      this.#reader.start();
    } else {
      this.#reader.pause();
      this.#reader.unref();
    }
  }
}
