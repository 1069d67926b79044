/**
 * Diagnostics: every error a user can cause is reported at a place in their spec with a hint,
 * never as a stack trace. Later passes attach errors to IR nodes, which carry source spans.
 */

export interface SourceSpan {
  /** Path of the spec as the user named it (relative to the working directory). */
  file: string;
  /** 1-based line and column of the first character. */
  line: number;
  column: number;
  /** 1-based line and column just past the last character, when known. */
  endLine?: number;
  endColumn?: number;
}

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable identifier, e.g. "unknown-tracepoint". */
  code: string;
  message: string;
  /** How to fix it, in plain words. */
  hint?: string;
  span?: SourceSpan;
}

/** Thrown by any pass that cannot go on; carries one or more diagnostics. */
export class DiagnosticError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => formatDiagnosticPlain(d)).join("\n"));
    this.name = "DiagnosticError";
    this.diagnostics = diagnostics;
  }
}

export function error(code: string, message: string, span?: SourceSpan, hint?: string): Diagnostic {
  return { severity: "error", code, message, span, hint };
}

/** Collects diagnostics during a pass so that one run reports every error it can find. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  add(d: Diagnostic): void {
    this.items.push(d);
  }
  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }
  throwIfErrors(): void {
    if (this.hasErrors) throw new DiagnosticError(this.items);
  }
}

function location(span: SourceSpan | undefined): string {
  return span ? `${span.file}:${span.line}:${span.column}` : "";
}

function formatDiagnosticPlain(d: Diagnostic): string {
  const where = location(d.span);
  const head = `${where ? where + ": " : ""}${d.severity}: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

export interface FormatOptions {
  /** ANSI colours (only on a TTY, never with NO_COLOR). */
  color?: boolean;
  /** Source text of span.file, to print a code frame with a caret. */
  sourceText?: string;
}

const ansi = {
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
};

export function formatDiagnostic(d: Diagnostic, options: FormatOptions = {}): string {
  const c = options.color ? ansi : { red: id, yellow: id, bold: id, dim: id, cyan: id };
  const where = location(d.span);
  const severity = d.severity === "error" ? c.red(c.bold("error")) : c.yellow(c.bold("warning"));
  const lines = [`${where ? c.bold(where) + ": " : ""}${severity}: ${d.message} ${c.dim(`[${d.code}]`)}`];
  if (d.span && options.sourceText !== undefined) lines.push(...codeFrame(options.sourceText, d.span, c));
  if (d.hint) lines.push(`  ${c.cyan("hint")}: ${d.hint}`);
  return lines.join("\n");
}

function id(s: string): string {
  return s;
}

function codeFrame(text: string, span: SourceSpan, c: typeof ansi): string[] {
  const all = text.split(/\r?\n/);
  const lineText = all[span.line - 1];
  if (lineText === undefined) return [];
  const gutter = String(span.line).length;
  const width =
    span.endLine === span.line && span.endColumn !== undefined ? Math.max(1, span.endColumn - span.column) : 1;
  const out: string[] = [];
  if (span.line > 1) out.push(c.dim(`  ${" ".repeat(gutter)} | ${all[span.line - 2]}`));
  out.push(`  ${span.line} | ${lineText}`);
  out.push(`  ${" ".repeat(gutter)} | ${" ".repeat(span.column - 1)}${c.red("^".repeat(width))}`);
  return out;
}
