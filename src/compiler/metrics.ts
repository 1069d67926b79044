/**
 * Maps marked `metric:` in a spec: their Prometheus type, name, help and labels, checked here
 * once so the loader only carries them (the runtime reads the maps at scrape time; the kernel
 * side is unchanged). Defaults come from what fills the map: counts and sums are counters,
 * min, max and set are gauges, hist and lhist are histograms.
 */
import type { SourceSpan } from "./diagnostics.js";
import { sourceName, type IrMap, type IrMetric, type IrUpdate } from "./ir.js";
import type { SpecPath } from "./parse.js";
import type { MapSpec, MetricSpec } from "./spec.js";
import { didYouMean } from "./suggest.js";

type Fail = (code: string, message: string, path: SpecPath, hint?: string, which?: "value" | "key") => void;

export interface MetricContext {
  probe: string;
  fail: Fail;
  span(path: SpecPath, which?: "value" | "key"): SourceSpan;
}

/** Prometheus's metric name and label name rules (data model). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Series a histogram adds to its name: another metric may not take them. */
const HISTOGRAM_SERIES = ["_bucket", "_sum", "_count"];

type MetricType = IrMetric["type"];

/** Sets `metric` on each map whose spec marks it; reports mistakes at their place in the spec. */
export function resolveMetrics(ctx: MetricContext, specs: Record<string, MapSpec>, maps: ReadonlyMap<string, IrMap<undefined>>, updates: ReadonlyArray<IrUpdate<undefined>>): void {
  const taken = new Map<string, string>();
  for (const [mapName, spec] of Object.entries(specs)) {
    if (spec.metric === undefined || spec.metric === false) continue;
    const map = maps.get(mapName);
    if (!map) continue; // its own declaration failed and said why
    const metric = resolveMetric(ctx, map, spec.metric, updates.filter((u) => u.map === map && u.op !== "delete"));
    if (!metric) continue;
    for (const series of seriesNames(metric)) {
      const other = taken.get(series);
      if (other) {
        ctx.fail("invalid-metric", `metric name '${metric.name}' is taken: map '${other}' exports '${series}'`, namePath(mapName, spec.metric), "give one of them another name: metric: { name: ... }");
        break;
      }
    }
    for (const series of seriesNames(metric)) taken.set(series, mapName);
    map.metric = metric;
  }
}

function namePath(mapName: string, metric: MapSpec["metric"]): SpecPath {
  return typeof metric === "object" && metric.name !== undefined ? ["maps", mapName, "metric", "name"] : ["maps", mapName, "metric"];
}

function seriesNames(m: IrMetric): string[] {
  return m.type === "histogram" ? HISTOGRAM_SERIES.map((s) => m.name + s) : [m.name];
}

function resolveMetric(ctx: MetricContext, map: IrMap<undefined>, given: true | string | MetricSpec, updates: ReadonlyArray<IrUpdate<undefined>>): IrMetric | undefined {
  const path: SpecPath = ["maps", map.name, "metric"];
  const spec: MetricSpec = given === true ? {} : typeof given === "string" ? { type: given as MetricType } : given;
  const typePath = typeof given === "string" ? path : [...path, "type"];
  if (map.kind === "ringbuf" || map.kind === "sockmap" || map.kind === "sockhash") {
    ctx.fail("invalid-metric", `map '${map.name}' is a ${map.kind}: only maps of numbers or histograms can be metrics`, path, "remove 'metric:'", "key");
    return undefined;
  }
  const value = map.value;
  if (!value) return undefined;
  if (value.kind === "struct" || (value.kind === "scalar" && value.scalar.kind !== "int")) {
    const what = value.kind === "struct" ? "a struct" : "not an integer";
    ctx.fail("invalid-metric", `map '${map.name}' holds ${what}: a metric reads a number or a histogram`, path,
      "export a map whose value is an integer (count, sum, min, max, set) or a hist/lhist", "key");
    return undefined;
  }
  const ops = [...new Set(updates.map((u) => u.op))];
  const type = spec.type ?? defaultType(ctx, map, ops, path);
  if (!type) return undefined;
  if ((type === "histogram") !== (value.kind === "histogram")) {
    ctx.fail("invalid-metric", value.kind === "histogram"
      ? `map '${map.name}' holds a histogram: its metric type is histogram, not ${type}`
      : `map '${map.name}' holds a number, not buckets: a histogram metric needs value: hist or lhist`, typePath,
      value.kind === "histogram" ? "write type: histogram, or leave the type out" : "write counter or gauge, or change the map's value to hist");
    return undefined;
  }
  if (type === "gauge" && map.kind.includes("percpu")) {
    ctx.fail("invalid-metric", `map '${map.name}' is a ${map.kind}: a gauge has one value, and the CPUs' values of a ${ops.join(" or ") || "set"} cannot be combined into it (CPUs that saw nothing hold 0)`, path,
      "use a shared map (type: hash or array) for a gauge; per-CPU maps suit counters and histograms, whose CPUs add up");
    return undefined;
  }
  const name = metricName(ctx, map, spec, type, path);
  const labels = metricLabels(ctx, map, spec, type, updates, path);
  if (name === undefined || labels === undefined) return undefined;
  const combine = combineOf(type, ops);
  if (combine === "none" && labels.dropped.length) {
    ctx.fail("invalid-metric", `map '${map.name}' is kept by ${describeOps(ops)}: entries that differ in ${labels.dropped.join(", ")} cannot be combined into one value`, [...path, "labels"],
      `list every key member: labels: [${labels.all.join(", ")}]`);
    return undefined;
  }
  const help = spec.help ?? map.description ?? `${map.name} of probe ${ctx.probe} (${describeOps(ops)})`;
  return { type, name, help, labels: labels.labels, combine, span: ctx.span(path, "key") };
}

/** counter for count and sum, gauge for min, max and set, histogram for hist. */
function defaultType(ctx: MetricContext, map: IrMap<undefined>, ops: string[], path: SpecPath): MetricType | undefined {
  if (map.value?.kind === "histogram") return "histogram";
  if (ops.length === 0) {
    ctx.fail("invalid-metric", `nothing in the spec fills map '${map.name}', so its metric type cannot be inferred`, path, "say it: metric: counter (or gauge)");
    return undefined;
  }
  if (ops.every((op) => op === "count" || op === "sum")) return "counter";
  if (ops.length === 1) return "gauge";
  ctx.fail("invalid-metric", `map '${map.name}' is kept by ${ops.join(" and ")}, so its metric type cannot be inferred`, path, "say it: metric: counter (or gauge)");
  return undefined;
}

function combineOf(type: MetricType, ops: string[]): IrMetric["combine"] {
  if (type !== "gauge" || (ops.length && ops.every((op) => op === "count" || op === "sum"))) return "sum";
  if (ops.length === 1 && (ops[0] === "min" || ops[0] === "max")) return ops[0];
  return "none";
}

function describeOps(ops: string[]): string {
  return ops.length ? ops.map((op) => (op === "hist" ? "histogram" : op)).join(", ") : "set from TypeScript";
}

function metricName(ctx: MetricContext, map: IrMap<undefined>, spec: MetricSpec, type: MetricType, path: SpecPath): string | undefined {
  const base = `probegen_${ctx.probe}_${map.name}`;
  const name = spec.name ?? (type === "counter" && !base.endsWith("_total") ? `${base}_total` : base);
  const at = spec.name === undefined ? path : [...path, "name"];
  if (!METRIC_NAME.test(name)) {
    ctx.fail("invalid-metric", `'${name}' is not a Prometheus metric name: letters, digits, '_' and ':', not starting with a digit`, at,
      `e.g. ${`probegen_${ctx.probe}_${map.name}`.replace(/[^a-zA-Z0-9_:]/g, "_")}`);
    return undefined;
  }
  if (name.startsWith("__")) {
    ctx.fail("invalid-metric", `'${name}' starts with '__', which Prometheus reserves for its own use`, at, "remove the leading underscores");
    return undefined;
  }
  if (type === "counter" && !name.endsWith("_total")) {
    ctx.fail("invalid-metric", `counter '${name}' should end in _total (Prometheus's naming rule for counters)`, at, `name it ${name}_total`);
    return undefined;
  }
  if (type === "histogram" && HISTOGRAM_SERIES.some((s) => name.endsWith(s))) {
    ctx.fail("invalid-metric", `histogram '${name}' ends in ${HISTOGRAM_SERIES.find((s) => name.endsWith(s))}, a suffix of the series a histogram exports`, at, "drop the suffix");
    return undefined;
  }
  return name;
}

interface Labels {
  labels: IrMetric["labels"];
  /** Key members left out. */
  dropped: string[];
  /** Every key member. */
  all: string[];
}

/** Struct keys: the members listed (default all). A scalar key: one label, named by `labels:` or after what fills it. */
function metricLabels(ctx: MetricContext, map: IrMap<undefined>, spec: MetricSpec, type: MetricType, updates: ReadonlyArray<IrUpdate<undefined>>, path: SpecPath): Labels | undefined {
  const key = map.key;
  const labelsPath = [...path, "labels"];
  const check = (name: string, at: SpecPath): boolean => {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      ctx.fail("invalid-metric", `'${name}' is not a Prometheus label name: letters, digits and '_', not starting with a digit or '__'`, at, "rename it");
      return false;
    }
    if (type === "histogram" && name === "le") {
      ctx.fail("invalid-metric", "a histogram's buckets are labelled 'le': a key member cannot take that label", at, "rename the key member, or leave it out of labels");
      return false;
    }
    return true;
  };
  if (map.keyless || !key) {
    if (spec.labels?.length) ctx.fail("invalid-metric", `map '${map.name}' has no key, so its metric has no labels`, labelsPath, "remove 'labels:'");
    return spec.labels?.length ? undefined : { labels: [], dropped: [], all: [] };
  }
  if (key.kind === "struct") {
    const members = key.struct.members;
    const all = members.map((m) => m.name);
    const wanted = spec.labels ?? all;
    let ok = true;
    wanted.forEach((name, i) => {
      const at = spec.labels ? [...labelsPath, i] : path;
      if (!members.some((m) => m.name === name)) {
        ctx.fail("invalid-metric", `the key of '${map.name}' has no member '${name}'.${didYouMean(name, all)}`, at, `labels are key members: ${all.join(", ")}`);
        ok = false;
      } else {
        ok = check(name, at) && ok;
      }
    });
    if (!ok) return undefined;
    const labels = members.filter((m) => wanted.includes(m.name)).map((m) => ({ name: m.name, member: m.tsName }));
    return { labels, dropped: all.filter((n) => !wanted.includes(n)), all };
  }
  if (key.kind !== "scalar") return undefined;
  if (spec.labels && spec.labels.length !== 1) {
    ctx.fail("invalid-metric", spec.labels.length === 0
      ? `an empty labels list would add up every entry of '${map.name}' into one series`
      : `the key of '${map.name}' is one value: it makes one label, not ${spec.labels.length}`, labelsPath, "name the label: labels: [comm]");
    return undefined;
  }
  const name = spec.labels?.[0] ?? scalarKeyLabel(updates);
  if (!check(name, spec.labels ? [...labelsPath, 0] : path)) return undefined;
  return { labels: [{ name }], dropped: [], all: [name] };
}

/** `key: comm` in every update labels the series `comm`; otherwise `key`. */
function scalarKeyLabel(updates: ReadonlyArray<IrUpdate<undefined>>): string {
  const names = new Set(updates.map((u) => (u.key.kind === "scalar" && u.key.expr.kind === "value" ? sourceName(u.key.expr.source).split(".").at(-1)! : "")));
  const [only] = names;
  return names.size === 1 && only && LABEL_NAME.test(only) && !only.startsWith("__") && only !== "le" ? only : "key";
}
