/**
 * A probe's metrics exported with OpenTelemetry's official SDK over OTLP/HTTP (JSON). Counters
 * and gauges are observable instruments whose one batch callback reads their maps at each
 * collection; the OTel API has no asynchronous histogram, so histograms come from a
 * MetricProducer the reader calls at the same moment, carrying the kernel's buckets as they are.
 *
 * The SDK is an optional peer dependency, imported here only when an app calls this.
 */
import type { HistogramSeries, MetricDefinition, MetricSource } from "./definition.js";

export interface OpenTelemetryOptions {
  /** The OTLP/HTTP metrics endpoint. Default: the exporter's (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else http://localhost:4318/v1/metrics). */
  url?: string;
  headers?: Record<string, string>;
  /** How often metrics are collected and sent. Default 60000 ms (the SDK's). */
  intervalMs?: number;
  /** The instrumentation scope's name. Default "probegen". */
  scope?: string;
}

export interface OpenTelemetryExport {
  /** Collects and sends now. */
  forceFlush(): Promise<void>;
  /** Sends a last time and stops. */
  shutdown(): Promise<void>;
}

/** Starts exporting `source` (a loaded probe, or combineSources of several) until shutdown(). */
export async function exportOpenTelemetry(source: MetricSource, options: OpenTelemetryOptions = {}): Promise<OpenTelemetryExport> {
  const [sdk, api, otlp] = await Promise.all([
    importPeer<typeof import("@opentelemetry/sdk-metrics")>("@opentelemetry/sdk-metrics"),
    importPeer<typeof import("@opentelemetry/api")>("@opentelemetry/api"),
    importPeer<typeof import("@opentelemetry/exporter-metrics-otlp-http")>("@opentelemetry/exporter-metrics-otlp-http"),
  ]);
  const scopeName = options.scope ?? "probegen";
  const startTime = hrNow();
  const histograms = source.metricDefinitions.filter((d) => d.type === "histogram");
  const scalars = source.metricDefinitions.filter((d) => d.type !== "histogram");

  const producer: import("@opentelemetry/sdk-metrics").MetricProducer = {
    async collect() {
      const endTime = hrNow();
      const families = histograms.length ? source.collectMetrics(histograms.map((d) => d.name)) : [];
      const metrics: import("@opentelemetry/sdk-metrics").HistogramMetricData[] = families.map((f) => ({
        descriptor: { name: f.name, description: f.help, unit: "", valueType: api.ValueType.DOUBLE },
        aggregationTemporality: sdk.AggregationTemporality.CUMULATIVE,
        dataPointType: sdk.DataPointType.HISTOGRAM,
        dataPoints: (f.series as HistogramSeries[]).map((s) => ({ startTime, endTime, attributes: { ...s.labels }, value: otelHistogram(s) })),
      }));
      // The reader keeps its own SDK's resource and takes only the scope metrics from here.
      const resource = undefined as unknown as import("@opentelemetry/resources").Resource;
      return { resourceMetrics: { resource, scopeMetrics: [{ scope: { name: scopeName }, metrics }] }, errors: [] };
    },
  };
  const reader = new sdk.PeriodicExportingMetricReader({
    exporter: new otlp.OTLPMetricExporter({ ...(options.url ? { url: options.url } : {}), ...(options.headers ? { headers: options.headers } : {}) }),
    ...(options.intervalMs !== undefined ? { exportIntervalMillis: options.intervalMs, exportTimeoutMillis: Math.min(30_000, options.intervalMs) } : {}),
    metricProducers: histograms.length ? [producer] : [],
  });
  const provider = new sdk.MeterProvider({ readers: [reader] });
  const meter = provider.getMeter(scopeName);
  const instruments = new Map(scalars.map((d) => [d.name, instrument(meter, d)]));
  if (instruments.size) {
    meter.addBatchObservableCallback((result) => {
      for (const f of source.collectMetrics(scalars.map((d) => d.name))) {
        if (f.type === "histogram") continue;
        const observable = instruments.get(f.name)!;
        for (const s of f.series) result.observe(observable, s.value, { ...s.labels });
      }
    }, [...instruments.values()]);
  }
  return { forceFlush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}

/** OTel names counters without Prometheus's _total (its Prometheus exporter adds it back). */
function instrument(meter: import("@opentelemetry/api").Meter, d: MetricDefinition) {
  return d.type === "counter"
    ? meter.createObservableCounter(d.name.replace(/_total$/, ""), { description: d.help })
    : meter.createObservableGauge(d.name, { description: d.help });
}

/** Explicit bounds are inclusive upper bounds, as `le` is; counts are per bucket, not cumulative. */
function otelHistogram(s: HistogramSeries) {
  const boundaries = s.buckets.filter((b) => b.le !== Infinity).map((b) => b.le);
  const counts = s.buckets.map((b, i) => b.count - (i ? s.buckets[i - 1]!.count : 0));
  return { buckets: { boundaries, counts }, count: s.count, sum: s.sum };
}

function hrNow(): [number, number] {
  const ms = performance.timeOrigin + performance.now();
  return [Math.floor(ms / 1000), Math.floor((ms % 1000) * 1e6)];
}

async function importPeer<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw e;
    throw new Error(`OpenTelemetry export needs ${name}: npm install @opentelemetry/api @opentelemetry/sdk-metrics @opentelemetry/exporter-metrics-otlp-http`);
  }
}
