/**
 * Histograms as the kernel side fills them: log2 buckets (like bpftrace's hist()) or linear
 * buckets (lhist()), with counts, percentiles and bpftrace-style bars.
 */
import { writeInt } from "./codecs.js";
import type { Codec } from "./map.js";
import { describeValue } from "./values.js";

export type HistogramShape = { kind: "log2" } | { kind: "linear"; min: number; max: number; step: number };

export interface Bucket {
  /** Inclusive lower bound (-Infinity for the underflow bucket). */
  low: number;
  /** Exclusive upper bound (Infinity for the overflow bucket). */
  high: number;
  count: number;
}

export class Histogram {
  constructor(readonly shape: HistogramShape, readonly counts: readonly number[]) {}

  /** Bounds of bucket `slot`, in the value's own unit. */
  bounds(slot: number): { low: number; high: number } {
    const last = this.counts.length - 1;
    if (this.shape.kind === "log2") {
      // slot 0: v <= 0; slot k: 2^(k-1) <= v < 2^k; the last slot is open-ended.
      if (slot === 0) return { low: -Infinity, high: 1 };
      return { low: 2 ** (slot - 1), high: slot === last ? Infinity : 2 ** slot };
    }
    const { min, step, max } = this.shape;
    if (slot === 0) return { low: -Infinity, high: min };
    if (slot === last) return { low: max, high: Infinity };
    return { low: min + (slot - 1) * step, high: Math.min(max, min + slot * step) };
  }

  /** Every bucket from the first to the last non-empty one. */
  buckets(): Bucket[] {
    const first = this.counts.findIndex((c) => c > 0);
    if (first < 0) return [];
    let last = this.counts.length - 1;
    while (this.counts[last] === 0) last--;
    const out: Bucket[] = [];
    for (let i = first; i <= last; i++) out.push({ ...this.bounds(i), count: this.counts[i]! });
    return out;
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /**
   * The upper bound of the bucket holding the p-th percentile (0 < p <= 100): an upper
   * estimate, as precise as the buckets are. NaN when empty.
   */
  percentile(p: number): number {
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
    const total = this.total;
    if (total === 0) return NaN;
    const rank = Math.ceil((p / 100) * total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return this.bounds(i).high;
    }
    return Infinity;
  }

  /** The bucket-wise sum (per-CPU histograms add up to one). */
  add(other: Histogram): Histogram {
    return new Histogram(this.shape, this.counts.map((c, i) => c + (other.counts[i] ?? 0)));
  }

  /** bpftrace's look: one line per bucket, `[low, high)  count |@@@@   |`. */
  render(width = 52): string {
    const buckets = this.buckets();
    if (buckets.length === 0) return "(empty)";
    const max = Math.max(...buckets.map((b) => b.count));
    const labels = buckets.map((b) => label(b, this.shape.kind));
    const labelWidth = Math.max(...labels.map((l) => l.length));
    const countWidth = Math.max(...buckets.map((b) => String(b.count).length));
    return buckets
      .map((b, i) => {
        const bar = "@".repeat(max === 0 ? 0 : Math.round((b.count / max) * width));
        return `${labels[i]!.padEnd(labelWidth)} ${String(b.count).padStart(countWidth)} |${bar.padEnd(width)}|`;
      })
      .join("\n");
  }

  toJSON() {
    return { shape: this.shape, buckets: this.buckets(), total: this.total };
  }
}

function label(b: Bucket, kind: HistogramShape["kind"]): string {
  const f = kind === "log2" ? short : String;
  if (b.low === -Infinity) return kind === "log2" ? "(..., 1)" : `(..., ${f(b.high)})`;
  if (b.high === Infinity) return `[${f(b.low)}, ...)`;
  return `[${f(b.low)}, ${f(b.high)})`;
}

/** 1024 -> 1K, 1048576 -> 1M, as bpftrace prints powers of two. */
function short(n: number): string {
  const units = ["", "K", "M", "G", "T", "P", "E"];
  let i = 0;
  while (n >= 1024 && n % 1024 === 0 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n}${units[i]}`;
}

/** Codec of `slots` u64 counters (the C struct { __u64 slots[N]; }). */
export function histogramCodec(shape: HistogramShape, slots: number): Codec<Histogram> {
  return {
    size: slots * 8,
    decode(view, offset) {
      const counts = new Array<number>(slots);
      for (let i = 0; i < slots; i++) {
        const at = offset + i * 8;
        counts[i] = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
      }
      return new Histogram(shape, counts);
    },
    encode(value, view, offset) {
      const counts = (value as Partial<Histogram> | null)?.counts;
      if (!Array.isArray(counts)) throw new TypeError(`must be a Histogram, got ${describeValue(value)}`);
      for (let i = 0; i < slots; i++) writeInt(view, offset + i * 8, "u64", counts[i] ?? 0, `counts[${i}]`);
    },
  };
}
