/** The pieces of `probegen run`'s map output that need no kernel: durations, ranking, top N, text and JSON blocks. */
import { describe, expect, it } from "vitest";
import { formatMaps, jsonMaps, rankOf, topEntries, type Snapshot } from "../../src/cli/map-report.js";
import { parseDuration } from "../../src/cli/table.js";
import { Histogram } from "../../src/runtime/histogram.js";

describe("parseDuration", () => {
  it("reads ms, s, m, h and bare seconds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("2s")).toBe(2000);
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("3")).toBe(3000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration(" 1s ")).toBe(1000);
  });

  it("refuses what is not a duration", () => {
    for (const text of ["", "soon", "1 s", "-1s", "1x", "ms", "1s2", "1e3", "Infinity"]) expect(parseDuration(text), text).toBeUndefined();
  });
});

const hist = (...counts: number[]) => new Histogram({ kind: "log2" }, counts);

describe("rankOf", () => {
  it("ranks numbers by themselves, histograms by their total, per-CPU values by their total, structs by their first number", () => {
    expect(rankOf(7)).toBe(7);
    expect(rankOf(7n)).toBe(7n);
    expect(rankOf(hist(1, 2, 3))).toBe(6);
    expect(rankOf({ perCpu: [1n, 2n], total: 3n })).toBe(3n);
    expect(rankOf({ perCpu: [hist(1), hist(4)], total: hist(5) })).toBe(5);
    expect(rankOf({ comm: "bash", count: 4n, bytes: 100n })).toBe(4n);
    expect(rankOf("bash")).toBeUndefined();
    expect(rankOf(new Uint8Array([9]))).toBeUndefined();
  });
});

describe("topEntries", () => {
  it("keeps the N largest, largest first, and counts the rest", () => {
    const entries: Array<[unknown, unknown]> = [["a", 3n], ["b", 10n], ["c", 1n], ["d", 7n]];
    expect(topEntries(entries, 2)).toEqual({ shown: [["b", 10n], ["d", 7n]], omitted: 2 });
    expect(topEntries(entries, 9)).toEqual({ shown: [["b", 10n], ["d", 7n], ["a", 3n], ["c", 1n]], omitted: 0 });
  });

  it("sorts histograms by total count, ties by key, values without a number last", () => {
    const entries: Array<[unknown, unknown]> = [[2, hist(0, 1)], [1, hist(5)], [3, hist(1)]];
    expect(topEntries(entries, 3).shown.map(([k]) => k)).toEqual([1, 2, 3]);
    const mixed: Array<[unknown, unknown]> = [["x", "text"], ["y", 1], ["z", 2n]];
    expect(topEntries(mixed, 3).shown.map(([k]) => k)).toEqual(["z", "y", "x"]);
  });
});

const snapshot = (entries: Array<[unknown, unknown]>): Snapshot => ({
  time: new Date("2026-01-02T03:04:05Z"),
  maps: [{ name: "opens", entries }],
  userDrops: 0,
});

describe("formatMaps", () => {
  it("without --top: largest last; with --top: largest first and a line for the rest", () => {
    const s = snapshot([["a", 3], ["b", 10], ["c", 1]]);
    expect(formatMaps(s, {})).toBe("\n@opens:\n  KEY  VALUE\n  c        1\n  a        3\n  b       10\n");
    expect(formatMaps(s, { top: 1 }, "03:04:05")).toBe("03:04:05\n\n@opens:\n  KEY  VALUE\n  b       10\n  ... 2 more entries not shown (--top 1)\n");
  });

  it("renders histograms as bars, and the header bold only when asked for colour", () => {
    const s = snapshot([["bash", hist(0, 2, 1)]]);
    const text = formatMaps(s, { color: true }, "03:04:05");
    expect(text.split("\n")[0]).toBe("\x1b[1m03:04:05\x1b[22m");
    expect(text).toContain("bash:\n[1, 2)   2 |@@@@");
    expect(formatMaps(s, {}, "03:04:05")).not.toContain("\x1b");
  });

  it("a per-CPU histogram prints its total's bars; struct values rank by their first number", () => {
    const perCpu = snapshot([["sh", { perCpu: [hist(0, 1), hist(0, 3)], total: hist(0, 4) }]]);
    expect(formatMaps(perCpu, {})).toContain("sh:\n[1, ...) 4 |@@@@");
    const structs = snapshot([[1, { count: 2n, bytes: 900n }], [2, { count: 5n, bytes: 10n }]]);
    expect(formatMaps(structs, { top: 1 })).toBe("\n@opens:\n  KEY  COUNT  BYTES\n    2      5     10\n  ... 1 more entry not shown (--top 1)\n");
  });
});

describe("jsonMaps", () => {
  it("an interval line has the time; --top keeps the largest and says how many it left out", () => {
    const line = JSON.parse(jsonMaps(snapshot([["a", 3n], ["b", 10n]]), { top: 1 }, false));
    expect(line).toEqual({ time: "2026-01-02T03:04:05.000Z", maps: { opens: [{ key: "b", value: 10 }] }, omitted: { opens: 1 } });
  });

  it("the final line has drops (for a probe with a ring buffer) and histograms as counts", () => {
    const s = { ...snapshot([["x", hist(0, 2)]]), kernelDrops: 0n };
    expect(JSON.parse(jsonMaps(s, {}, true))).toEqual({
      maps: { opens: [{ key: "x", value: { shape: { kind: "log2" }, counts: [0, 2] } }] },
      drops: { kernel: 0, userspace: 0 },
    });
  });
});
