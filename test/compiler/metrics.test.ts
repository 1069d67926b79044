/** `metric:` on maps: defaults from what fills the map, and each mistake at its line and column. */
import { describe, expect, it } from "vitest";
import { frontEnd, located } from "../helpers/compile.js";

const spec = (maps: string, updates: string) => [
  "name: opens", "maps:", maps,
  "programs:", "  - attach: tracepoint/syscalls/sys_enter_openat", "    update:", updates, "",
].join("\n");

const metricsOf = (text: string) => {
  const { probe, diagnostics } = frontEnd(text);
  expect(diagnostics).toEqual([]);
  return Object.fromEntries(probe!.maps.filter((m) => m.metric).map((m) => [m.name, { ...m.metric!, span: undefined }]));
};

describe("metrics in a spec", () => {
  it("take their type, name, help and labels from the map by default", () => {
    const m = metricsOf(spec([
      "  by_user: { type: hash, key: { uid: u32, comm: \"string[16]\" }, value: u64, description: Opens per user, metric: true }",
      "  bytes: { type: hash, key: u32, value: u64, metric: true }",
      "  slowest: { type: hash, key: u32, value: u64, metric: true }",
      "  lat: { type: hash, key: u32, value: hist, metric: true }",
      "  last: { type: hash, key: u32, value: u64, metric: gauge }",
    ].join("\n"), [
      "      - { map: by_user, key: { uid: uid, comm: comm }, count: true }",
      "      - { map: bytes, key: pid, sum: flags }",
      "      - { map: slowest, key: pid, max: flags }",
      "      - { map: lat, key: uid, hist: flags }",
      "      - { map: last, key: args.dfd, set: mode }",
    ].join("\n")));
    expect(m).toEqual({
      by_user: { type: "counter", name: "probegen_opens_by_user_total", help: "Opens per user", labels: [{ name: "uid", member: "uid" }, { name: "comm", member: "comm" }], combine: "sum", span: undefined },
      bytes: { type: "counter", name: "probegen_opens_bytes_total", help: "bytes of probe opens (sum)", labels: [{ name: "pid" }], combine: "sum", span: undefined },
      slowest: { type: "gauge", name: "probegen_opens_slowest", help: "slowest of probe opens (max)", labels: [{ name: "pid" }], combine: "max", span: undefined },
      lat: { type: "histogram", name: "probegen_opens_lat", help: "lat of probe opens (histogram)", labels: [{ name: "uid" }], combine: "sum", span: undefined },
      last: { type: "gauge", name: "probegen_opens_last", help: "last of probe opens (set)", labels: [{ name: "dfd" }], combine: "none", span: undefined },
    });
  });

  it("take a name, help and a subset of the key's members as labels", () => {
    const m = metricsOf(spec(
      "  by_user:\n    type: hash\n    key: { uid: u32, comm: \"string[16]\" }\n    value: u64\n    metric: { name: opens_by_command_total, help: \"a \\\"quoted\\\" help\", labels: [comm] }",
      "      - { map: by_user, key: { uid: uid, comm: comm }, count: true }"));
    expect(m.by_user).toMatchObject({ name: "opens_by_command_total", help: 'a "quoted" help', labels: [{ name: "comm", member: "comm" }] });
  });

  it("report mistakes at the spec's line and column, with a fix", () => {
    const cases: Array<[string, string, string]> = [
      ["  c: { type: hash, key: u32, value: u64, metric: { name: opens-total } }", "      - { map: c, key: pid, count: true }",
        "probes/test.yaml:3:58: 'opens-total' is not a Prometheus metric name: letters, digits, '_' and ':', not starting with a digit"],
      ["  c: { type: hash, key: u32, value: u64, metric: { name: opens } }", "      - { map: c, key: pid, count: true }",
        "probes/test.yaml:3:58: counter 'opens' should end in _total (Prometheus's naming rule for counters)"],
      ["  c: { type: hash, key: { uid: u32 }, value: u64, metric: { labels: [pid] } }", "      - { map: c, key: { uid: uid }, count: true }",
        "probes/test.yaml:3:70: the key of 'c' has no member 'pid'. Did you mean 'uid'?"],
      ["  c: { type: hash, key: u32, value: u64, metric: histogram }", "      - { map: c, key: pid, count: true }",
        "probes/test.yaml:3:50: map 'c' holds a number, not buckets: a histogram metric needs value: hist or lhist"],
      ["  c: { type: hash, key: u32, value: u64, metric: true }", "      - { map: c, key: pid, min: flags }\n      - { map: c, key: pid, max: flags }",
        "probes/test.yaml:3:50: map 'c' is kept by min and max, so its metric type cannot be inferred"],
      ["  c: { type: hash, key: { a: u32, b: u32 }, value: u64, metric: { labels: [a] } }", "      - { map: c, key: { a: pid, b: uid }, set: flags }",
        "probes/test.yaml:3:75: map 'c' is kept by set: entries that differ in b cannot be combined into one value"],
      ["  c: { type: percpu_hash, key: u32, value: u64, metric: true }", "      - { map: c, key: pid, max: flags }",
        "probes/test.yaml:3:57: map 'c' is a percpu_hash: a gauge has one value, and the CPUs' values of a max cannot be combined into it (CPUs that saw nothing hold 0)"],
      ["  c: { type: hash, key: { le: u32 }, value: hist, metric: true }", "      - { map: c, key: { le: pid }, hist: flags }",
        "probes/test.yaml:3:59: a histogram's buckets are labelled 'le': a key member cannot take that label"],
      ["  c: { type: hash, key: u32, value: u64, metric: { name: x_total } }\n  d: { type: hash, key: u32, value: u64, metric: { name: x_total } }",
        "      - { map: c, key: pid, count: true }\n      - { map: d, key: pid, count: true }",
        "probes/test.yaml:4:58: metric name 'x_total' is taken: map 'c' exports 'x_total'"],
    ];
    for (const [maps, updates, message] of cases) {
      const { diagnostics } = frontEnd(spec(maps, updates));
      expect(located(diagnostics), maps).toEqual([message]);
      expect(diagnostics[0]!.hint, maps).toBeTruthy();
    }
  });

  it("an unknown metric type is a schema error at its place", () => {
    const { diagnostics } = frontEnd(spec("  c: { type: hash, key: u32, value: u64, metric: summary }", "      - { map: c, key: pid, count: true }"));
    expect(diagnostics[0]!.span).toMatchObject({ line: 3, column: 50 });
  });
});
