/**
 * A loaded probe's metrics the three ways an app reads them, after a child closes known fds:
 * probe.metrics() (the Prometheus text), an app's prom-client Registry, and OpenTelemetry's
 * SDK exporting OTLP/HTTP JSON to a small receiver standing in for a collector (Debian 12
 * packages no OpenTelemetry collector).
 */
import { createServer, type IncomingMessage } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportOpenTelemetry, registerPromClient, type MetricSource } from "../../dist/src/runtime/index.js";
import { buildLoaderModule } from "../helpers/loader.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { closeKnownFds, CLOSED, commFor, freePort, SPEC } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "metrics/exporters.test.ts");

const COMM = commFor("e");
const dir = mkdtempSync(join(tmpdir(), "probegen-metrics-"));
type Probe = MetricSource & { metrics(): string; close(): void };
let probe: Probe;

beforeAll(async () => {
  if (!support.ok) return;
  const loader = (await import(pathToFileURL(await buildLoaderModule(SPEC, dir)).href)) as { loadFdmetrics(o: object): Promise<Probe> };
  probe = await loader.loadFdmetrics({ params: { comm: COMM } });
  await closeKnownFds(COMM);
});
afterAll(() => {
  probe?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Samples of a text exposition, `name{labels}` -> value, comments and blank lines skipped. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1).replace("+Inf", "Infinity")));
  }
  return out;
}

const label = `comm="${COMM.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
const atMost = (le: number) => CLOSED.filter((v) => v <= le).length;

describe.skipIf(!support.ok)("a loaded probe's metrics", () => {
  it("probe.metrics() is the text format: escaped labels, counts, a max, cumulative buckets", () => {
    const text = probe.metrics();
    expect(text).toContain('# HELP probegen_fdmetrics_linear fd - 10000 in "linear" buckets \\\\ of 10\n# TYPE probegen_fdmetrics_linear histogram\n');
    const s = samples(text);
    expect(s.get(`probegen_fdmetrics_closes_total{${label}}`)).toBe(CLOSED.length);
    expect(s.get(`probegen_fdmetrics_largest{${label}}`)).toBe(Math.max(...CLOSED));
    expect(s.get("probegen_fdmetrics_total")).toBe(CLOSED.length);
    for (const le of [-1, 9, 19, 29, 39]) expect(s.get(`probegen_fdmetrics_linear_bucket{${label},le="${le}"}`), `le=${le}`).toBe(atMost(le));
    expect(s.get(`probegen_fdmetrics_linear_bucket{${label},le="+Inf"}`)).toBe(CLOSED.length);
    for (let k = 0; k <= 10; k++) expect(s.get(`probegen_fdmetrics_closes_log2_bucket{${label},le="${2 ** k - 1}"}`), `le=${2 ** k - 1}`).toBe(atMost(2 ** k - 1));
    // The kernel keeps no sum: each close counted at its bucket's lower bound (0 1 1 2 2 4 8 8 16 32 32).
    expect(s.get(`probegen_fdmetrics_closes_log2_sum{${label}}`)).toBe(106);
    expect(s.get(`probegen_fdmetrics_closes_log2_count{${label}}`)).toBe(CLOSED.length);
  });

  it("an app's prom-client Registry serves the same samples, in both of its formats", async () => {
    const registry = new Registry();
    const unregister = registerPromClient(registry, probe);
    expect(samples(await registry.metrics())).toEqual(samples(probe.metrics()));
    const open = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerPromClient(open, probe);
    const openText = await open.metrics();
    expect(openText).toContain(`probegen_fdmetrics_closes_total{${label}} ${CLOSED.length}\n`);
    expect(openText).not.toContain("_total_total");
    unregister();
    expect(await registry.metrics()).toBe("\n");
  });

  it("OpenTelemetry's SDK sends them over OTLP/HTTP JSON: a sum, a gauge and explicit-bucket histograms", async () => {
    const bodies: unknown[] = [];
    const receiver = createServer(async (req, res) => {
      bodies.push({ path: req.url, type: req.headers["content-type"], body: JSON.parse(await text(req)) });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const port = await freePort();
    await new Promise<void>((r) => receiver.listen(port, "127.0.0.1", r));
    try {
      const exporter = await exportOpenTelemetry(probe, { url: `http://127.0.0.1:${port}/v1/metrics`, intervalMs: 60_000 });
      await exporter.forceFlush();
      await exporter.shutdown();
      const first = bodies[0] as { path: string; type: string; body: OtlpBody };
      expect(first.path).toBe("/v1/metrics");
      expect(first.type).toMatch(/^application\/json/);
      const metrics = new Map(first.body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).map((m) => [m.name, m]));
      const attrs = [{ key: "comm", value: { stringValue: COMM } }];

      const closes = metrics.get("probegen_fdmetrics_closes")!;  // OTel's name: no _total
      expect(closes.sum!.isMonotonic).toBe(true);
      expect(closes.sum!.dataPoints).toEqual([expect.objectContaining({ attributes: attrs, asDouble: CLOSED.length })]);
      expect(metrics.get("probegen_fdmetrics_largest")!.gauge!.dataPoints).toEqual([expect.objectContaining({ attributes: attrs, asDouble: Math.max(...CLOSED) })]);

      const linear = metrics.get("probegen_fdmetrics_linear")!;
      expect(linear.description).toBe('fd - 10000 in "linear" buckets \\ of 10');
      const point = linear.histogram!.dataPoints[0]!;
      expect(point.attributes).toEqual(attrs);
      expect(point.explicitBounds).toEqual([-1, 9, 19, 29, 39]);
      const perBucket = [-1, 9, 19, 29, 39, Infinity].map((le, i, all) => atMost(le) - (i ? atMost(all[i - 1]!) : 0));
      expect(point.bucketCounts.map(Number)).toEqual(perBucket);
      expect(Number(point.count)).toBe(CLOSED.length);
      expect(metrics.get("probegen_fdmetrics_closes_log2")!.histogram!.dataPoints[0]!.explicitBounds).toHaveLength(63);
    } finally {
      receiver.close();
    }
  });
});

interface OtlpPoint {
  attributes: unknown[];
  asDouble?: number;
  asInt?: string;
  explicitBounds: number[];
  bucketCounts: Array<string | number>;
  count: string | number;
}
interface OtlpMetric {
  name: string;
  description: string;
  sum?: { isMonotonic: boolean; dataPoints: OtlpPoint[] };
  gauge?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[] };
}
interface OtlpBody {
  resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: OtlpMetric[] }> }>;
}

function text(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8").on("data", (c: string) => (s += c)).on("end", () => resolve(s)).on("error", reject);
  });
}
