/** The text format's escaping (label values come from the kernel), histogram buckets from kernel slots, listen addresses. */
import { describe, expect, it } from "vitest";
import { Histogram } from "../../src/runtime/histogram.js";
import { exposition, parseListenAddress, prometheusHistogram } from "../../src/runtime/metrics/index.js";

describe("Prometheus text exposition", () => {
  it("escapes backslash, quote and newline in label values, and backslash and newline in help", () => {
    const text = exposition([{ name: "x_total", help: "line one\nline \\ two \"quoted\"", type: "counter", series: [{ labels: { comm: 'a"b\\c\nd', other: "ü" }, value: 3 }] }]);
    expect(text).toBe([
      '# HELP x_total line one\\nline \\\\ two "quoted"',
      "# TYPE x_total counter",
      'x_total{comm="a\\"b\\\\c\\nd",other="ü"} 3',
      "",
    ].join("\n"));
    // A hostile value cannot start a line of its own: every sample is one line.
    expect(text.split("\n")).toHaveLength(4);
  });

  it("writes histograms as cumulative _bucket lines ending in +Inf, then _sum and _count", () => {
    const h = new Histogram({ kind: "linear", min: 0, max: 20, step: 10 }, [1, 2, 3, 4]);
    const text = exposition([{ name: "h", help: "h", type: "histogram", series: [{ labels: { k: "v" }, ...prometheusHistogram(h) }] }]);
    expect(text.split("\n").slice(2)).toEqual([
      'h_bucket{k="v",le="-1"} 1', 'h_bucket{k="v",le="9"} 3', 'h_bucket{k="v",le="19"} 6', 'h_bucket{k="v",le="+Inf"} 10',
      // _sum: each bucket's lower bound times its count, the underflow's upper bound: -1 + 2*0 + 3*10 + 4*20.
      'h_sum{k="v"} 109', 'h_count{k="v"} 10', "",
    ]);
  });

  it("log2 slot k holds 2^(k-1) <= v < 2^k: le is 2^k - 1, exact for integers", () => {
    const counts = new Array<number>(64).fill(0);
    counts[0] = 1; // v <= 0
    counts[1] = 2; // v == 1
    counts[3] = 4; // 4 <= v < 8
    const { buckets, count, sum } = prometheusHistogram(new Histogram({ kind: "log2" }, counts));
    expect(buckets.slice(0, 4)).toEqual([{ le: 0, count: 1 }, { le: 1, count: 3 }, { le: 3, count: 3 }, { le: 7, count: 7 }]);
    expect(buckets.at(-1)).toEqual({ le: Infinity, count: 7 });
    expect(buckets).toHaveLength(64);
    expect(count).toBe(7);
    expect(sum).toBe(0 + 2 * 1 + 4 * 4);
  });
});

describe("--metrics addresses", () => {
  it("takes :PORT, PORT, HOST:PORT and [IPv6]:PORT, and nothing else", () => {
    expect(parseListenAddress(":9464")).toEqual({ host: "", port: 9464 });
    expect(parseListenAddress("9464")).toEqual({ host: "", port: 9464 });
    expect(parseListenAddress("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListenAddress("localhost:80")).toEqual({ host: "localhost", port: 80 });
    expect(parseListenAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    for (const bad of ["", ":", "host", ":99999", "::1:9464", "a b:1", "http://x:1"]) expect(parseListenAddress(bad), bad).toBeUndefined();
  });
});
