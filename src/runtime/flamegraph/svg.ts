/**
 * An interactive flame graph as one self-contained SVG file, in the manner of flamegraph.pl:
 * frames as rectangles as wide as their sample counts, root at the bottom; hover shows a frame's
 * count and share, click zooms into it, "Search" (or Ctrl-F) highlights a regular expression and
 * sums its share, "Reset Zoom" / Escape go back. It needs nothing at view time (no network, no
 * library): browsers open it as a file. Frame names come from binaries, so every one is escaped.
 */
import { compareStrings, stackTree, type StackNode, type StackSample } from "./folded.js";

export interface FlamegraphOptions {
  /** The heading (default "Flame Graph"). */
  title?: string;
  /** What a count counts, in hover text (default "samples"). */
  countName?: string;
  /** Image width in pixels (default 1200). */
  width?: number;
}

const FRAME_HEIGHT = 16;
const FONT_SIZE = 12;
const CHAR_WIDTH = FONT_SIZE * 0.59;
const PAD = 10;
const TOP = FONT_SIZE * 3;
const BOTTOM = FONT_SIZE * 2 + 10;
/** Frames narrower than this are left out (they would be invisible, and only grow the file). */
const MIN_WIDTH = 0.1;

export function flamegraphSvg(samples: Iterable<StackSample>, opts: FlamegraphOptions = {}): string {
  const width = opts.width ?? 1200;
  const countName = opts.countName ?? "samples";
  const root = stackTree(samples);
  const total = root.value;
  const span = width - 2 * PAD;
  const placed: Array<{ node: StackNode; start: number; depth: number }> = [];
  const visit = (node: StackNode, start: number, depth: number) => {
    if (total > 0 && (node.value / total) * span < MIN_WIDTH) return;
    placed.push({ node, start, depth });
    let childStart = start;
    for (const child of [...node.children.values()].sort((a, b) => compareStrings(a.name, b.name))) {
      visit(child, childStart, depth + 1);
      childStart += child.value;
    }
  };
  visit(root, 0, 0);

  const maxDepth = Math.max(...placed.map((p) => p.depth));
  const height = TOP + (maxDepth + 1) * FRAME_HEIGHT + BOTTOM;
  const bottomRow = height - BOTTOM - FRAME_HEIGHT;
  const body = placed.map((p) => frame(p.node, p.start, p.depth, bottomRow - p.depth * FRAME_HEIGHT, total, countName, span)).join("\n");
  const title = xml(opts.title ?? "Flame Graph");
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-pad="${PAD}" data-cw="${fmt(CHAR_WIDTH)}">
<style>
text { font-family: Verdana, sans-serif; font-size: ${FONT_SIZE}px; fill: #000; }
#title { font-size: ${FONT_SIZE + 5}px; text-anchor: middle; }
.button { cursor: pointer; }
.button:hover { text-decoration: underline; }
g.f { cursor: pointer; }
g.f:hover rect { stroke: #000; stroke-width: 0.5; }
g.f text { pointer-events: none; }
</style>
<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f8"/>
<text id="title" x="${width / 2}" y="${FONT_SIZE * 2}">${title}</text>
<text id="unzoom" class="button" x="${PAD}" y="${FONT_SIZE * 2}" style="display: none">Reset Zoom</text>
<text id="search" class="button" x="${width - PAD - 100}" y="${FONT_SIZE * 2}">Search</text>
<text id="clear" class="button" x="${width - PAD - 40}" y="${FONT_SIZE * 2}" style="display: none">Clear</text>
<text id="details" x="${PAD}" y="${height - FONT_SIZE}"> </text>
<text id="matched" x="${width - PAD - 160}" y="${height - FONT_SIZE}"> </text>
<g id="frames">
${body}
</g>
<script type="text/ecmascript"><![CDATA[
${SCRIPT}
]]></script>
</svg>
`;
}

function frame(node: StackNode, start: number, depth: number, y: number, total: number, countName: string, span: number): string {
  const x = total > 0 ? start / total : 0;
  const w = total > 0 ? node.value / total : 1;
  const px = PAD + x * span;
  const pw = w * span;
  const share = total > 0 ? (node.value / total) * 100 : 0;
  const name = xml(node.name);
  const title = `${name} (${thousands(node.value)} ${xml(countName)}, ${share.toFixed(2)}%)`;
  return `<g class="f" data-n="${name}" data-x="${ratio(x)}" data-w="${ratio(w)}" data-d="${depth}"><title>${title}</title>` +
    `<rect x="${fmt(px)}" y="${fmt(y)}" width="${fmt(pw)}" height="${FRAME_HEIGHT - 1}" rx="2" fill="${color(node.name)}"/>` +
    `<text x="${fmt(px + 3)}" y="${fmt(y)}" dy="${FONT_SIZE - 1}">${xml(label(node.name, pw))}</text></g>`;
}

/** As much of the name as fits in `width` pixels. */
function label(name: string, width: number): string {
  const fits = Math.floor((width - 6) / CHAR_WIDTH);
  if (fits < 3) return "";
  return name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
}

/**
 * Text safe in XML content and attributes: markup characters as entities, and characters XML
 * cannot carry at all (controls, lone surrogates, U+FFFE/U+FFFF) as U+FFFD.
 */
export function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** flamegraph.pl's warm palette, chosen by a hash of the name so a function keeps its color; unknown frames grey. */
function color(name: string): string {
  if (name.startsWith("[unknown]")) return "rgb(190,190,190)";
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  const r = 205 + (h % 51);
  const g = Math.floor(((h >>> 8) % 1000) / 1000 * 230);
  const b = Math.floor(((h >>> 18) % 1000) / 1000 * 55);
  return `rgb(${r},${g},${b})`;
}

const fmt = (n: number) => String(Math.round(n * 100) / 100);
const ratio = (n: number) => String(Math.round(n * 1e9) / 1e9);
const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** The viewer: reads names and geometry from the frames' data- attributes and touches text only through textContent. */
const SCRIPT = String.raw`(function () {
  "use strict";
  var svg = document.documentElement;
  var pad = +svg.getAttribute("data-pad");
  var charWidth = +svg.getAttribute("data-cw");
  var span = +svg.getAttribute("width") - 2 * pad;
  var frames = Array.prototype.slice.call(document.querySelectorAll("g.f"));
  var byId = function (id) { return document.getElementById(id); };
  var details = byId("details"), matched = byId("matched"), unzoom = byId("unzoom"), clear = byId("clear");
  var num = function (g, a) { return +g.getAttribute("data-" + a); };
  var eps = 1e-9;

  function label(name, width) {
    var fits = Math.floor((width - 6) / charWidth);
    if (fits < 3) return "";
    return name.length <= fits ? name : name.slice(0, fits - 2) + "..";
  }

  /** Shows the frames inside [x0, x0 + w0) at depth >= d0 across the whole width; their callers stay, faded. */
  function zoom(x0, w0, d0) {
    frames.forEach(function (g) {
      var x = num(g, "x"), w = num(g, "w"), d = num(g, "d");
      var inside = d >= d0 && x >= x0 - eps && x + w <= x0 + w0 + eps;
      var caller = d < d0 && x <= x0 + eps && x + w >= x0 + w0 - eps;
      g.style.display = inside || caller ? "" : "none";
      if (!inside && !caller) return;
      var px = pad + (caller ? 0 : (x - x0) / w0) * span;
      var pw = (caller ? 1 : w / w0) * span;
      var rect = g.querySelector("rect"), text = g.querySelector("text");
      rect.setAttribute("x", px);
      rect.setAttribute("width", pw);
      text.setAttribute("x", px + 3);
      text.textContent = label(g.getAttribute("data-n"), pw);
      g.style.opacity = caller && d0 > 0 ? "0.6" : "";
    });
    unzoom.style.display = d0 > 0 ? "" : "none";
  }

  function search(pattern) {
    var re;
    try { re = new RegExp(pattern); } catch (e) { matched.textContent = "Invalid pattern"; return; }
    var spans = [];
    frames.forEach(function (g) {
      var rect = g.querySelector("rect");
      if (!rect.hasAttribute("data-fill")) rect.setAttribute("data-fill", rect.getAttribute("fill"));
      var hit = re.test(g.getAttribute("data-n"));
      rect.setAttribute("fill", hit ? "rgb(230,0,230)" : rect.getAttribute("data-fill"));
      if (hit) spans.push([num(g, "x"), num(g, "x") + num(g, "w")]);
    });
    // Nested matches count once: merge the matched intervals.
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var sum = 0, end = -1;
    spans.forEach(function (s) {
      if (s[0] >= end) { sum += s[1] - s[0]; end = s[1]; }
      else if (s[1] > end) { sum += s[1] - end; end = s[1]; }
    });
    matched.textContent = "Matched: " + (sum * 100).toFixed(1) + "%";
    clear.style.display = "";
  }

  function clearSearch() {
    frames.forEach(function (g) {
      var rect = g.querySelector("rect");
      if (rect.hasAttribute("data-fill")) rect.setAttribute("fill", rect.getAttribute("data-fill"));
    });
    matched.textContent = " ";
    clear.style.display = "none";
  }

  frames.forEach(function (g) {
    g.addEventListener("mouseover", function () { details.textContent = g.querySelector("title").textContent; });
    g.addEventListener("mouseout", function () { details.textContent = " "; });
    g.addEventListener("click", function () { zoom(num(g, "x"), num(g, "w"), num(g, "d")); });
  });
  unzoom.addEventListener("click", function () { zoom(0, 1, 0); });
  clear.addEventListener("click", clearSearch);
  byId("search").addEventListener("click", function () {
    var pattern = prompt("Search frames (a regular expression):", "");
    if (pattern) search(pattern);
  });
  window.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { zoom(0, 1, 0); clearSearch(); }
    else if ((e.ctrlKey || e.metaKey) && e.key === "f") {
      e.preventDefault();
      var pattern = prompt("Search frames (a regular expression):", "");
      if (pattern) search(pattern);
    }
  });
})();`;
