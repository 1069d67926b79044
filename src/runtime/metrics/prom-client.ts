/**
 * A probe's metrics in an app's prom-client Registry: one registered metric per map, read when
 * the registry is (registry.metrics()). prom-client is an optional peer dependency: the app
 * passes its registry in, and nothing here imports the package.
 */
import type { MetricFamily, MetricSource } from "./definition.js";
import { formatNumber } from "./exposition.js";

/** What this module needs of prom-client's Registry (15.x). */
export interface PromClientRegistry {
  registerMetric(metric: object): void;
  removeSingleMetric(name: string): void;
}

interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Registers every metric of `source` in `registry`; returns a function that removes them again. */
export function registerPromClient(registry: PromClientRegistry, source: MetricSource): () => void {
  const names: string[] = [];
  for (const d of source.metricDefinitions) {
    registry.registerMetric({
      // prom-client renames counters in OpenMetrics mode (without _total): get() reports the current name.
      name: d.name,
      help: d.help,
      type: d.type,
      aggregator: "sum",
      async get(this: { name: string }) {
        const [family] = source.collectMetrics([d.name]);
        return { name: this.name, help: d.help, type: d.type, aggregator: "sum", values: family ? promValues(family, this.name) : [] };
      },
      reset() {
        // The kernel's maps are the state: a registry reset does not clear them.
      },
    });
    names.push(d.name);
  }
  return () => names.forEach((n) => registry.removeSingleMetric(n));
}

function promValues(f: MetricFamily, name: string): PromValue[] {
  if (f.type !== "histogram") return f.series.map((s) => ({ value: s.value, labels: { ...s.labels } }));
  return f.series.flatMap((s) => [
    ...s.buckets.map((b) => ({ value: b.count, labels: { ...s.labels, le: formatNumber(b.le) }, metricName: `${name}_bucket` })),
    { value: s.sum, labels: { ...s.labels }, metricName: `${name}_sum` },
    { value: s.count, labels: { ...s.labels }, metricName: `${name}_count` },
  ]);
}
