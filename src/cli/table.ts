/** Plain aligned text tables (no colour, no box drawing), and human units. */

/** Right-aligns columns whose cells all look like numbers; the last column is never padded. */
export function formatTable(header: string[], rows: string[][], options: { indent?: string; rightAlign?: boolean[] } = {}): string {
  const indent = options.indent ?? "  ";
  const cols = header.length;
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = options.rightAlign ?? header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,]+\s?\w{0,3}%?$|^$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    indent + cells.map((c, i) => {
      if (i === cols - 1) return numeric[i] ? c.padStart(width[i]!) : c;
      return numeric[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!);
    }).join("  ").trimEnd();
  const out = [];
  if (header.some((h) => h !== "")) out.push(line(header));
  for (const r of rows) out.push(line(r));
  return out.join("\n");
}

/** "10s", "500ms", "2m", "1h", "1.5s" -> milliseconds; a bare number is seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Math.round(n * unit);
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function humanNs(ns: number): string {
  if (ns < 1000) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
