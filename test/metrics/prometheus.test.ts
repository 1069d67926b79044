/**
 * A real Prometheus scrapes `probegen run --metrics` while a child closes known fds; its HTTP API
 * then answers with the counts and cumulative buckets those closes make. Debian's prometheus
 * runs here with its own config, a free port and storage in a temporary directory.
 */
import { execa, type ResultPromise } from "execa";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { collect, spawnProbegen } from "../cli/helpers.js";
import { closeKnownFds, COMM, CLOSED, freePort, prometheusBinary, SPEC } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "metrics/prometheus.test.ts");
const prometheus = await prometheusBinary();
if (!prometheus) console.warn("[metrics/prometheus.test.ts] SKIPPING: no prometheus binary on PATH (scripts/setup.sh installs Debian's prometheus)");

const dir = mkdtempSync(join(tmpdir(), "probegen-prometheus-"));
const running: ResultPromise[] = [];
afterAll(async () => {
  for (const p of running) p.kill("SIGTERM");
  await Promise.allSettled(running);
  rmSync(dir, { recursive: true, force: true });
});

/** An instant query through Prometheus's HTTP API: each series' labels and value. */
async function query(port: number, promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 45_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What Prometheus means by a bucket: observations at most `le`. */
const atMost = (le: string) => CLOSED.filter((v) => le === "+Inf" || v <= Number(le)).length;

describe.skipIf(!support.ok || !prometheus)("Prometheus scrapes probegen run --metrics", () => {
  it("stores the counts, the gauge and every cumulative bucket of the known closes", async () => {
    const [probePort, promPort] = [await freePort(), await freePort()];
    const run = spawnProbegen(["run", SPEC, "--param", `comm=${COMM}`, "--metrics", `127.0.0.1:${probePort}`, "--duration", "120s"]);
    running.push(run);
    const stderr = collect(run.stderr!);
    await stderr.until(/Serving metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/, 60_000);
    await closeKnownFds();

    writeFileSync(join(dir, "prometheus.yml"), [
      "global:", "  scrape_interval: 1s", "  evaluation_interval: 1s",
      "scrape_configs:", "  - job_name: probegen", "    static_configs:", `      - targets: ["127.0.0.1:${probePort}"]`, "",
    ].join("\n"));
    const server = execa(prometheus!, [
      `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn",
    ], { reject: false, all: true });
    running.push(server);

    const selector = `{job="probegen",comm=${JSON.stringify(COMM)}}`;
    const counter = await until("the counter in Prometheus", async () => (await query(promPort, `probegen_fdmetrics_closes_total${selector}`))[0]);
    // The comm came from the kernel with a quote and a backslash: escaped on the wire, exact in storage.
    expect(counter.metric.comm).toBe(COMM);
    expect(counter.value).toBe(CLOSED.length);
    expect((await query(promPort, `probegen_fdmetrics_largest${selector}`))[0]!.value).toBe(Math.max(...CLOSED));
    expect((await query(promPort, 'probegen_fdmetrics_total{job="probegen"}'))[0]!.value).toBe(CLOSED.length);

    const linear = await query(promPort, `probegen_fdmetrics_linear_bucket${selector}`);
    expect(linear.map((s) => s.metric.le).sort((a, b) => Number(a.replace("+Inf", "Infinity")) - Number(b.replace("+Inf", "Infinity"))))
      .toEqual(["-1", "9", "19", "29", "39", "+Inf"]);
    for (const s of linear) expect(s.value, `linear le=${s.metric.le}`).toBe(atMost(s.metric.le!));

    const log2 = await query(promPort, `probegen_fdmetrics_closes_log2_bucket${selector}`);
    expect(log2).toHaveLength(64);
    expect(log2.map((s) => s.metric.le)).toEqual(expect.arrayContaining(["0", "1", "3", "7", "15", "31", "63", "127", "+Inf"]));
    for (const s of log2) expect(s.value, `log2 le=${s.metric.le}`).toBe(atMost(s.metric.le!));
    expect((await query(promPort, `probegen_fdmetrics_closes_log2_count${selector}`))[0]!.value).toBe(CLOSED.length);

    // Prometheus's own quantile over our buckets: the median close (5) lies in the bucket (3, 7].
    const median = (await query(promPort, `histogram_quantile(0.5, probegen_fdmetrics_closes_log2_bucket${selector})`))[0]!.value;
    expect(median).toBeGreaterThan(3);
    expect(median).toBeLessThanOrEqual(7);

    const up = await query(promPort, 'up{job="probegen"}');
    expect(up[0]!.value).toBe(1);
    run.kill("SIGINT");
    const r = await run;
    expect(r.exitCode, stderr.text()).toBe(0);
  }, 120_000);
});
