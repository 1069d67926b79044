// EventStream over one native ring reader. Native code hands over one batch of
// raw ring records per drain; this module walks their headers, decodes each
// record and fans events out to listeners and async iterators. Back-pressure:
// when an iterator's queue passes highWaterMark the reader stops draining, so the
// kernel (which counts drops) absorbs bursts instead of Node's heap.
import { BpfError } from "./errors.js";
import type { NativeRingReader } from "./native.js";

/** Called once per ring-buffer record; `offset` is where the record's bytes start in `view`, `length` its length. */
export type RecordDecoder<E> = (view: DataView, offset: number, length: number) => E;

/** Decoded events from one ring buffer. Async-iterable and callback-able; one native->JS call per batch. */
export interface EventStream<E> extends AsyncIterable<E> {
  /** Returns unsubscribe. */
  on(listener: (event: E) => void): () => void;
  /**
   * The events one drain (one batch) at a time: `for await (const batch of stream.batches())`.
   * Cheaper than `for await (const event of stream)` (one promise per batch, not per event).
   * The arrays may be shared with other iterators: do not modify them.
   */
  batches(): AsyncIterableIterator<readonly E[]>;
  /** Delivers what the kernel holds now, without waiting for the drain interval. */
  flush(): void;
  /** Userspace drops (records whose decoder threw); back-pressure pauses the reader instead of dropping. */
  readonly dropped: number;
  close(): void;
}

export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;
/** The length bits of a record header. */
const LENGTH_MASK = 0x3fffffff;
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
    // Read as int32 so every value stays a small integer: the busy bit is the sign bit.
    const header = view.getInt32(at, true);
    if (header < 0) break; // busy: native never copies busy records; be safe anyway
    const len = header & LENGTH_MASK;
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

/**
 * Per-iterator queue of whole batches: the events of one drain are decoded once
 * into one array that every iterator shares (read-only), so queueing costs one
 * slot per batch and per iterator, not one per event. A ring of slots (grown by
 * doubling) so steady state allocates nothing.
 */
class BatchQueue<E> {
  #slots: Array<readonly E[] | undefined> = new Array<readonly E[] | undefined>(8).fill(undefined);
  #head = 0; // slot of the oldest batch
  #size = 0; // batches queued
  #index = 0; // next event within the oldest batch
  /** Events queued. */
  count = 0;

  push(batch: readonly E[], from: number): void {
    if (from >= batch.length) return;
    if (from > 0 && this.#size > 0) {
      // only a new iterator's first batch starts late, and its queue is empty then; be safe anyway
      batch = batch.slice(from);
      from = 0;
    }
    if (this.#size === this.#slots.length) {
      const grown = new Array<readonly E[] | undefined>(this.#slots.length * 2).fill(undefined);
      for (let i = 0; i < this.#size; i++) grown[i] = this.#slots[(this.#head + i) & (this.#slots.length - 1)];
      this.#slots = grown;
      this.#head = 0;
    }
    this.#slots[(this.#head + this.#size) & (this.#slots.length - 1)] = batch;
    if (this.#size === 0) this.#index = from;
    this.#size++;
    this.count += batch.length - from;
  }

  /** The next event; only call when count > 0. */
  shift(): E {
    const batch = this.#slots[this.#head] as readonly E[];
    const event = batch[this.#index++];
    this.count--;
    if (this.#index >= batch.length) this.#dropHead();
    return event;
  }

  /** The rest of the oldest batch (the whole array when nothing of it was taken); only call when count > 0. */
  shiftBatch(): readonly E[] {
    const batch = this.#slots[this.#head] as readonly E[];
    const rest = this.#index === 0 ? batch : batch.slice(this.#index);
    this.count -= rest.length;
    this.#dropHead();
    return rest;
  }

  #dropHead(): void {
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#slots.length - 1);
    this.#size--;
    this.#index = 0;
  }
}

interface Consumer<E> {
  queue: BatchQueue<E>;
  /** true: `batches()` (one array per drain); false: one event per `next()`. */
  batches: boolean;
  /** Set when the iterator was created during a batch's delivery: where in that batch it starts. */
  start: number;
  wake?: (result: IteratorResult<any>) => void;
  fail?: (err: unknown) => void;
  error?: unknown;
}

export interface RingBufferOptions {
  /** Events queued for one iterator before the reader pauses. Default 65536. */
  highWaterMark?: number;
}

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as IteratorResult<never>;

export class RingBufferStream<E> implements EventStream<E> {
  #dropped = 0;
  #closed = false;
  #paused = false; // by back-pressure
  #running = false;
  #reader: NativeRingReader;
  readonly #decode: RecordDecoder<E>;
  readonly #listeners = new Set<(event: E) => void>();
  /** Copy of #listeners, replaced (never mutated) on on()/off(), read once per event. */
  #listenerList: ReadonlyArray<(event: E) => void> = [];
  readonly #consumers = new Set<Consumer<E>>();
  readonly #highWaterMark: number;
  readonly #lowWaterMark: number;
  #view: DataView | undefined;
  readonly #onClose: () => void;
  readonly #name: string;
  // While a batch is being delivered: the events decoded so far (when iterators
  // want them) and the event being delivered, so an iterator started by a
  // listener mid-batch begins with that event, as it would have before.
  #delivering = false;
  #batch: E[] | undefined;
  #current: E | undefined;

  /** `open` creates the native reader with this stream's batch handler. */
  constructor(
    open: (onBatch: (batch: ArrayBuffer | null, length: number) => void) => NativeRingReader,
    decode: RecordDecoder<E>,
    options: RingBufferOptions,
    onClose: () => void,
    name = "ring buffer",
  ) {
    this.#name = name;
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
    // A listener added to a closed stream would never hear an event: say so instead.
    if (this.#closed) {
      const detail = `ring buffer '${this.#name}' is closed: on() cannot subscribe after close(); load the probe again to read more events`;
      throw new BpfError({ operation: "ringBuffer.on", errno: 9, detail, map: this.#name });
    }
    this.#listeners.add(listener);
    this.#listenerList = [...this.#listeners];
    this.#update();
    return () => {
      if (!this.#listeners.delete(listener)) return;
      this.#listenerList = [...this.#listeners];
      this.#update();
    };
  }

  /** Drain now instead of waiting for the next scheduled drain. */
  flush(): void {
    if (!this.#closed) this.#reader.drain();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#running = false;
    this.#reader.close();
    this.#listeners.clear();
    this.#listenerList = [];
    for (const c of this.#consumers) {
      if (c.wake && c.queue.count === 0) {
        const wake = c.wake;
        c.wake = c.fail = undefined;
        wake(DONE);
      }
    }
    this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    return this.#iterator<E>(false, (c) => c.queue.shift());
  }

  /**
   * The events one drain at a time: `for await (const batch of stream.batches())`.
   * One promise per batch instead of one per event. The arrays are shared with
   * other iterators: read them, do not modify them.
   */
  batches(): AsyncIterableIterator<readonly E[]> {
    return this.#iterator<readonly E[]>(true, (c) => c.queue.shiftBatch());
  }

  #iterator<T>(batches: boolean, take: (c: Consumer<E>) => T): AsyncIterableIterator<T> {
    const consumer: Consumer<E> = { queue: new BatchQueue<E>(), batches, start: 0 };
    const finish = (): IteratorResult<T> => {
      if (this.#consumers.delete(consumer)) {
        if (this.#paused) this.#maybeResume(); // a slow consumer leaving must not stall the others
        else this.#update();
      }
      return DONE;
    };
    if (!this.#closed) {
      if (this.#delivering) {
        // created by a listener in the middle of a batch: start with the event being delivered
        if (this.#batch === undefined) this.#batch = [this.#current as E];
        consumer.start = this.#batch.length - 1;
      }
      this.#consumers.add(consumer);
      this.#update();
    }
    const iterator: AsyncIterableIterator<T> = {
      next: (): Promise<IteratorResult<T>> => {
        if (consumer.queue.count > 0) {
          const value = take(consumer);
          if (this.#paused && consumer.queue.count <= this.#lowWaterMark) this.#maybeResume();
          return Promise.resolve({ value, done: false });
        }
        if (consumer.error !== undefined) {
          const err = consumer.error;
          finish();
          return Promise.reject(err);
        }
        if (this.#closed || !this.#consumers.has(consumer)) return Promise.resolve(finish());
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          consumer.wake = resolve;
          consumer.fail = reject;
        });
      },
      return: (): Promise<IteratorResult<T>> => Promise.resolve(finish()),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #onBatch(batch: ArrayBuffer | null, length: number): void {
    if (this.#closed) return;
    if (batch === null) {
      this.#failAll(
        new BpfError({ operation: "ringBuffer.drain", errno: length, detail: "the ring buffer's drain thread failed" }),
      );
      return;
    }
    if (this.#view?.buffer !== batch) this.#view = new DataView(batch); // native replaces it only to grow
    const view = this.#view;
    const decode = this.#decode;
    let thrown: unknown;
    // The walk of walkBatch, inlined: no closure call per record.
    this.#delivering = true;
    this.#batch = this.#consumers.size > 0 ? [] : undefined;
    try {
      let at = 0;
      while (at + RINGBUF_HDR_SZ <= length) {
        // Read as int32 so every value stays a small integer: the busy bit is the sign bit.
        const header = view.getInt32(at, true);
        if (header < 0) break; // busy: native never copies busy records; be safe anyway
        const len = header & LENGTH_MASK;
        const body = at + RINGBUF_HDR_SZ;
        if (body + len > length) break; // truncated batch
        at = body + ((len + 7) & ~7);
        if (header & RINGBUF_DISCARD_BIT) continue;
        let event: E;
        try {
          event = decode(view, body, len);
        } catch (err) {
          this.#dropped++;
          thrown ??= err;
          continue;
        }
        this.#current = event;
        if (this.#batch !== undefined) this.#batch.push(event);
        const listeners = this.#listenerList;
        for (let i = 0; i < listeners.length; i++) {
          try {
            listeners[i](event);
          } catch (err) {
            thrown ??= err;
          }
        }
        if (this.#closed) break; // a listener closed the stream
      }
    } finally {
      this.#delivering = false;
      this.#current = undefined;
    }
    const events = this.#batch;
    this.#batch = undefined;
    if (events !== undefined && events.length > 0) this.#enqueue(events);
    // Like an EventEmitter: a throwing listener/decoder surfaces as an uncaught
    // exception, but only after the whole batch was delivered to everyone else.
    if (thrown !== undefined) throw thrown;
  }

  #enqueue(events: readonly E[]): void {
    let full = false;
    for (const c of this.#consumers) {
      const from = c.start;
      c.start = 0;
      if (from >= events.length) continue;
      if (c.wake) {
        const wake = c.wake;
        c.wake = c.fail = undefined;
        if (c.batches) {
          wake({ value: from === 0 ? events : events.slice(from), done: false });
          continue;
        }
        wake({ value: events[from], done: false });
        c.queue.push(events, from + 1);
      } else {
        c.queue.push(events, from);
      }
      if (c.queue.count >= this.#highWaterMark) full = true;
    }
    if (full && !this.#paused) {
      this.#paused = true;
      this.#update();
    }
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
    for (const c of this.#consumers) if (c.queue.count > this.#lowWaterMark) return;
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
