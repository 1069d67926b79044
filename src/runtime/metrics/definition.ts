/**
 * What a generated loader says about the maps its spec marks `metric:` (checked by the
 * compiler), and what one collection of them gives: metric families ready for any exporter.
 */

export type MetricType = "counter" | "gauge" | "histogram";

/** One map exported as a metric. */
export interface MetricDefinition {
  /** The spec's map name. */
  readonly map: string;
  readonly type: MetricType;
  /** A Prometheus metric name (counters end in `_total`). */
  readonly name: string;
  readonly help: string;
  /** Label name and the decoded key's member it reads; no member: the (scalar) key itself. */
  readonly labels: ReadonlyArray<{ readonly name: string; readonly member?: string }>;
  /** How entries with the same labels combine (members left out of the labels): add, least, greatest, or never. */
  readonly combine: "sum" | "min" | "max" | "none";
}

export type Labels = Readonly<Record<string, string>>;

/** A counter's or a gauge's value for one label set. */
export interface ValueSeries {
  readonly labels: Labels;
  readonly value: number;
}

/** One cumulative bucket: observations less than or equal to `le` (the last is +Inf). */
export interface CumulativeBucket {
  readonly le: number;
  readonly count: number;
}

/** A histogram for one label set: cumulative buckets, their count, and the sum (derived: see buckets.ts). */
export interface HistogramSeries {
  readonly labels: Labels;
  readonly buckets: readonly CumulativeBucket[];
  readonly count: number;
  readonly sum: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: "counter" | "gauge"; readonly series: readonly ValueSeries[] }
  | { readonly name: string; readonly help: string; readonly type: "histogram"; readonly series: readonly HistogramSeries[] };

/** Anything that can be read for metrics: a loaded probe with metric maps, or several (see combineSources). */
export interface MetricSource {
  /** The metrics it exports, without reading anything. */
  readonly metricDefinitions: readonly MetricDefinition[];
  /** Reads the maps now (batch lookups): one family per metric, or per metric named in `names`. */
  collectMetrics(names?: readonly string[]): MetricFamily[];
}
