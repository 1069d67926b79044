/**
 * Collection at scrape time: each metric's map is read whole with the kernel's batch lookups
 * (TypedMap.entries), keys become labels, per-CPU values their total, and entries that share
 * a label set combine as the definition says. Nothing runs per event.
 */
import { Histogram } from "../histogram.js";
import type { TypedMap } from "../map.js";
import type { PerCpu } from "../percpu.js";
import { prometheusHistogram } from "./buckets.js";
import type { HistogramSeries, Labels, MetricDefinition, MetricFamily, MetricSource, ValueSeries } from "./definition.js";

/** A map read for metrics: its entries, keys and values as the loader decodes them. */
export type MetricMap = Pick<TypedMap<unknown, unknown>, "entries">;

/** The metrics of one loaded probe: `definitions` from its loader, `maps` by spec map name. */
export function mapMetrics(definitions: readonly MetricDefinition[], maps: Readonly<Record<string, MetricMap>>): MetricSource {
  for (const d of definitions) {
    if (!maps[d.map]) throw new TypeError(`metric '${d.name}' reads map '${d.map}', which was not given`);
  }
  return {
    metricDefinitions: definitions,
    collectMetrics: (names) => definitions.filter((d) => !names || names.includes(d.name)).map((d) => collectOne(d, maps[d.map]!)),
  };
}

/** The families of several sources (probes) in one scrape; names must not repeat. */
export function combineSources(...sources: MetricSource[]): MetricSource {
  const seen = new Set<string>();
  for (const d of sources.flatMap((s) => s.metricDefinitions)) {
    if (seen.has(d.name)) throw new Error(`two probes export a metric named '${d.name}': give one another name in its spec (metric: { name: ... })`);
    seen.add(d.name);
  }
  return {
    metricDefinitions: sources.flatMap((s) => s.metricDefinitions),
    collectMetrics: (names) => sources.flatMap((s) => s.collectMetrics(names)),
  };
}

type Value = number | Histogram;

function collectOne(d: MetricDefinition, map: MetricMap): MetricFamily {
  const groups = new Map<string, { labels: Labels; value: Value }>();
  for (const [key, raw] of map.entries()) {
    const labels = labelsOf(d, key);
    const value = numeric(raw);
    const id = JSON.stringify(d.labels.map((l) => labels[l.name]));
    const seen = groups.get(id);
    groups.set(id, { labels, value: seen ? combine(d, seen.value, value) : value });
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
  if (d.type === "histogram") {
    const series: HistogramSeries[] = ordered.map((g) => ({ labels: g.labels, ...prometheusHistogram(g.value as Histogram) }));
    return { name: d.name, help: d.help, type: "histogram", series };
  }
  const series: ValueSeries[] = ordered.map((g) => ({ labels: g.labels, value: g.value as number }));
  return { name: d.name, help: d.help, type: d.type, series };
}

function labelsOf(d: MetricDefinition, key: unknown): Labels {
  const labels: Record<string, string> = {};
  for (const l of d.labels) labels[l.name] = labelText(l.member === undefined ? key : (key as Record<string, unknown>)[l.member]);
  return labels;
}

/** A decoded key member as label text: strings as they are (escaped when printed), numbers in decimal, bytes in hex. */
function labelText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (Array.isArray(v)) return v.map(labelText).join(",");
  return String(v);
}

/** A counter's, gauge's or histogram's value; per-CPU values as their total. */
function numeric(raw: unknown): Value {
  // A PerCpu value (a Histogram has a `total` too: the count of its buckets).
  const v = typeof raw === "object" && raw !== null && "perCpu" in raw ? (raw as PerCpu<unknown>).total : raw;
  if (v instanceof Histogram) return v;
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return Number(v);
  throw new TypeError(`a metric map holds ${typeof v}, not a number or a histogram`);
}

function combine(d: MetricDefinition, a: Value, b: Value): Value {
  if (a instanceof Histogram) return a.add(b as Histogram);
  const x = b as number;
  switch (d.combine) {
    case "sum": return a + x;
    case "min": return Math.min(a, x);
    case "max": return Math.max(a, x);
    case "none": return a; // every key member is a label: only keys that decode alike meet here
  }
}
