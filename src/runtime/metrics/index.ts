// Metrics from the maps a spec marks `metric:`: collected at scrape time, in the Prometheus text
// format, a prom-client Registry, or OpenTelemetry (OTLP/HTTP).
export type { CumulativeBucket, HistogramSeries, Labels, MetricDefinition, MetricFamily, MetricSource, MetricType, ValueSeries } from "./definition.js";
export { combineSources, mapMetrics, type MetricMap } from "./collect.js";
export { prometheusHistogram } from "./buckets.js";
export { exposition, escapeHelp, escapeLabelValue, EXPOSITION_CONTENT_TYPE } from "./exposition.js";
export { parseListenAddress, serveMetrics, type ListenAddress, type MetricsServer } from "./server.js";
export { registerPromClient, type PromClientRegistry } from "./prom-client.js";
export { exportOpenTelemetry, type OpenTelemetryExport, type OpenTelemetryOptions } from "./otel.js";
