/**
 * The Prometheus text exposition format (version 0.0.4). Label values come from map keys
 * the kernel filled (a comm is whatever a process named itself), so they are escaped as the
 * format says: backslash, double quote and newline; help text: backslash and newline.
 */
import type { Labels, MetricFamily } from "./definition.js";

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export function exposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type === "histogram") {
      for (const s of f.series) {
        for (const b of s.buckets) lines.push(`${f.name}_bucket${labelSet(s.labels, formatNumber(b.le))} ${formatNumber(b.count)}`);
        lines.push(`${f.name}_sum${labelSet(s.labels)} ${formatNumber(s.sum)}`, `${f.name}_count${labelSet(s.labels)} ${formatNumber(s.count)}`);
      }
    } else {
      for (const s of f.series) lines.push(`${f.name}${labelSet(s.labels)} ${formatNumber(s.value)}`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}

function labelSet(labels: Labels, le?: string): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  if (le !== undefined) pairs.push(`le="${le}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** Go's ParseFloat reads these: +Inf, -Inf, NaN, and JS's own number text. */
export function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return Number.isNaN(n) ? "NaN" : String(n);
}
