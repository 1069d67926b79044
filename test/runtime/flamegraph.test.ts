/** Folded stacks and the SVG flame graph: what flamegraph.pl-style tools and a browser read. */
import { DOMParser, type Element } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { flamegraphSvg, foldedStacks, type StackSample } from "../../src/runtime/index.js";

const samples: StackSample[] = [
  { frames: ["main", "work", "spin"], count: 60 },
  { frames: ["main", "work", "spin"], count: 15 },
  { frames: ["main", "idle"], count: 20 },
  { frames: ["main", "work"], count: 5 },
  { frames: ["main", "skipped"], count: 0 },
];

describe("foldedStacks", () => {
  it("writes one sorted line per distinct stack whose counts sum to the samples'", () => {
    const text = foldedStacks(samples);
    expect(text).toBe("main;idle 20\nmain;work 5\nmain;work;spin 75\n");
    const lines = text.trimEnd().split("\n").map((line) => /^(.+) (\d+)$/.exec(line)!);
    expect(lines.every(Boolean)).toBe(true);
    expect(lines.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(100);
    // The same samples in another order give the same text.
    expect(foldedStacks([...samples].reverse())).toBe(text);
  });

  it("keeps a name with ';' or a line break on its own line and frame, and counts stacks without frames", () => {
    expect(foldedStacks([{ frames: ["a;b", "c\nd"], count: 2 }, { frames: [], count: 1 }])).toBe("[no frames] 1\na_b;c_d 2\n");
  });
});

const hostile = `<script>alert("x")</script> & 'quoted' ]]> \u0001`;

function parse(svg: string) {
  const errors: string[] = [];
  // Warnings are heuristics (xmldom warns of any U+FFFD); errors are what breaks a document.
  const doc = new DOMParser({ onError: (level, message) => level !== "warning" && errors.push(`${level}: ${message}`) }).parseFromString(svg, "image/svg+xml");
  expect(errors).toEqual([]);
  return doc;
}

describe("flamegraphSvg", () => {
  it("is well-formed SVG with a rectangle per frame as wide as its share, and hover titles with counts", () => {
    const doc = parse(flamegraphSvg(samples, { title: "CPU <profile>" }));
    const svg = doc.documentElement!;
    expect(svg.tagName).toBe("svg");
    expect(doc.getElementById("title")!.textContent).toBe("CPU <profile>");
    const frames = Array.from(svg.getElementsByTagName("g")).filter((g) => g.getAttribute("class") === "f");
    const byName = new Map(frames.map((g) => [g.getAttribute("data-n")!, g]));
    expect([...byName.keys()].sort()).toEqual(["all", "idle", "main", "spin", "work"]);
    const width = (g: Element) => Number(g.getElementsByTagName("rect")[0]!.getAttribute("width"));
    expect(width(byName.get("spin")!) / width(byName.get("all")!)).toBeCloseTo(0.75, 3);
    expect(width(byName.get("work")!) / width(byName.get("all")!)).toBeCloseTo(0.8, 3);
    expect(byName.get("spin")!.getElementsByTagName("title")[0]!.textContent).toBe("spin (75 samples, 75.00%)");
    // Callers sit below their callees.
    const y = (g: Element) => Number(g.getElementsByTagName("rect")[0]!.getAttribute("y"));
    expect(y(byName.get("spin")!)).toBeLessThan(y(byName.get("work")!));
    expect(y(byName.get("work")!)).toBeLessThan(y(byName.get("main")!));
  });

  it("carries hostile frame names as text only: no markup, no script, no broken XML", () => {
    const svg = flamegraphSvg([{ frames: ["main", hostile], count: 3 }, { frames: ["main", "ok"], count: 1 }]);
    const doc = parse(svg);
    expect(doc.getElementsByTagName("script").length).toBe(1); // the viewer's own
    const frame = Array.from(doc.getElementsByTagName("g")).find((g) => g.getAttribute("data-n")?.startsWith("<script>"))!;
    // The control character XML cannot carry is replaced; the rest reads back exactly.
    const shown = hostile.replace("\u0001", "\ufffd");
    expect(frame.getAttribute("data-n")).toBe(shown);
    expect(frame.getElementsByTagName("title")[0]!.textContent).toBe(`${shown} (3 samples, 75.00%)`);
    expect(frame.getElementsByTagName("text")[0]!.textContent).toBe(shown); // 75% of the width: the whole name fits
    expect(svg).not.toContain("<script>alert");
  });

  it("ships a viewer script that parses, and an empty profile still renders", () => {
    const svg = flamegraphSvg([]);
    const doc = parse(svg);
    const script = doc.getElementsByTagName("script")[0]!.textContent!;
    expect(() => new Function(script)).not.toThrow();
    expect(Array.from(doc.getElementsByTagName("g")).filter((g) => g.getAttribute("class") === "f")).toHaveLength(1);
  });
});
