/**
 * A kernel histogram (runtime/histogram.ts, whose bounds() is the one definition of a slot) as
 * a Prometheus histogram: cumulative buckets labelled `le`, their count, and a derived sum.
 *
 * Slots hold integers in [low, high), so "at most le" is exact with le = high - 1: a log2 slot
 * k (2^(k-1) <= v < 2^k) is le="2^k - 1" (0, 1, 3, 7, ...), a linear slot [10, 20) is le="19".
 * Every slot is exported, empty or not, so a series' bucket set never changes between scrapes.
 *
 * The kernel keeps only bucket counts, not the sum of the values: `_sum` counts each
 * observation at its bucket's lower bound (the underflow bucket, which has none, at its upper
 * bound: 0 for log2, min - 1 for linear). It is exact when every value sits on a lower bound and
 * otherwise low by less than a bucket's width per observation.
 */
import type { Histogram } from "../histogram.js";
import type { CumulativeBucket } from "./definition.js";

export interface PrometheusHistogram {
  buckets: CumulativeBucket[];
  count: number;
  sum: number;
}

export function prometheusHistogram(h: Histogram): PrometheusHistogram {
  const buckets: CumulativeBucket[] = [];
  let count = 0;
  let sum = 0;
  for (let slot = 0; slot < h.counts.length; slot++) {
    const { low, high } = h.bounds(slot);
    const n = h.counts[slot]!;
    const le = high === Infinity ? Infinity : high - 1;
    count += n;
    sum += n * (low === -Infinity ? le : low);
    buckets.push({ le, count });
  }
  return { buckets, count, sum };
}
