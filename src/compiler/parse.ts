/**
 * Parse: YAML text to a plain value, keeping the document so that any later pass can turn a
 * path inside the spec (["programs", 0, "filter"]) into a file:line:column span.
 */
import { dirname, resolve } from "node:path";
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import { DiagnosticError, error, type Diagnostic, type SourceSpan } from "./diagnostics.js";
import { unquotedExpressionAt } from "./unquoted.js";

export type SpecPath = ReadonlyArray<string | number>;

export class SpecSource {
  readonly file: string;
  /** The directory the spec is in, absolute: where relative paths in it (a uprobe's `./app`) start. */
  readonly dir: string;
  readonly text: string;
  readonly value: unknown;
  private readonly doc: Document.Parsed;
  private readonly lines: LineCounter;

  private constructor(file: string, dir: string, text: string, doc: Document.Parsed, lines: LineCounter) {
    this.file = file;
    this.dir = dir;
    this.text = text;
    this.doc = doc;
    this.lines = lines;
    this.value = toValue(file, doc, lines);
  }

  /** `file` as diagnostics name it; `dir` the spec's directory when `file` is not a path to it from here. */
  static parse(file: string, text: string, dir = dirname(resolve(file))): SpecSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    // A tag YAML does not know (`filter: !(a == b)`) silently drops text: an error too.
    const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === "TAG_RESOLVE_FAILED")].sort((a, b) => a.pos[0] - b.pos[0]);
    if (problems.length > 0) throw new DiagnosticError([yamlProblem(file, text, lines, problems)]);
    return new SpecSource(file, dir, text, doc, lines);
  }

  /** Span of the value at `path`, or of the closest ancestor that exists. */
  spanOf(path: SpecPath, which: "value" | "key" = "value"): SourceSpan {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.nodeAt(path.slice(0, depth), which === "key" && depth === path.length);
      if (node?.range) return spanOfOffsets(this.file, this.lines, node.range[0], node.range[1]);
    }
    return { file: this.file, line: 1, column: 1 };
  }

  /**
   * Span of a character range inside a scalar string (for errors inside filter expressions).
   * Offsets are into the scalar's value; quoted scalars shift by their opening quote.
   */
  spanInScalar(path: SpecPath, start: number, end: number): SourceSpan {
    const node = this.nodeAt(path, false);
    if (!node?.range || !isScalar(node)) return this.spanOf(path);
    const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE";
    const base = node.range[0] + (quoted ? 1 : 0);
    const limit = node.range[1];
    return spanOfOffsets(this.file, this.lines, Math.min(base + start, limit), Math.min(base + end, limit));
  }

  /**
   * The integer a YAML number at `path` spells, exactly: YAML reads numbers as doubles, to which
   * 2^64 + 1 is 2^64 and a 400-digit number is Infinity. Undefined when it spells no integer
   * (1.5, a string, nothing).
   */
  integerAt(path: SpecPath): bigint | undefined {
    const node = this.nodeAt(path, false);
    if (!isScalar(node) || typeof node.value !== "number" || typeof node.source !== "string") return undefined;
    return integerLiteral(node.source);
  }

  /** The text of the scalar at `path` as the spec writes it. */
  textAt(path: SpecPath): string | undefined {
    const node = this.nodeAt(path, false);
    return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  }

  private nodeAt(path: SpecPath, wantKey: boolean): Node | undefined {
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
        if (!pair) return undefined;
        node = wantKey && i === path.length - 1 ? pair.key : pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        node = node.items[segment];
      } else {
        return undefined;
      }
    }
    return isNode(node) ? node : undefined;
  }
}

/** A YAML 1.2 number as an exact integer: 42, -7, 0x2a, 0o52, 1e21, 2.5e3; undefined if it is not one. */
export function integerLiteral(text: string): bigint | undefined {
  const t = text.replace(/_/g, "");
  const radix = /^([-+]?)0([xo])([0-9a-fA-F]+)$/.exec(t);
  if (radix) {
    if (radix[2] === "o" && /[89a-fA-F]/.test(radix[3]!)) return undefined;
    const v = BigInt(`0${radix[2]}${radix[3]}`);
    return radix[1] === "-" ? -v : v;
  }
  const m = /^([-+]?)(\d+)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(t);
  if (!m) return undefined;
  const fraction = m[3] ?? "";
  // digits * 10^(exponent - fraction digits), whole only if the shift drops nothing but zeros.
  const shift = Number(m[4] ?? 0) - fraction.length;
  if (Math.abs(shift) > 100_000) return undefined;
  const digits = BigInt(m[2]! + fraction);
  let v: bigint;
  if (shift >= 0) v = digits * 10n ** BigInt(shift);
  else {
    const unit = 10n ** BigInt(-shift);
    if (digits % unit !== 0n) return undefined;
    v = digits / unit;
  }
  return m[1] === "-" ? -v : v;
}

function spanOfOffsets(file: string, lines: LineCounter, start: number, end: number): SourceSpan {
  const a = lines.linePos(start);
  const b = lines.linePos(Math.max(start, end));
  return { file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
}

/** The document as a plain value; aliases that expand without bound (a "billion laughs") are refused. */
function toValue(file: string, doc: Document.Parsed, lines: LineCounter): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    let at: [number, number] = [0, 0];
    visit(doc, { Alias(_, node) { if (node.range) { at = [node.range[0], node.range[1]]; return visit.BREAK; } return undefined; } });
    throw new DiagnosticError([error("yaml-aliases", `the YAML aliases of this spec expand to too many copies (${e.message.toLowerCase()})`,
      spanOfOffsets(file, lines, at[0], at[1]), `write the values out, or use fewer aliases (at most ${MAX_ALIAS_COUNT} copies)`)]);
  }
}

/** Copies the YAML aliases of one spec may make in all. */
const MAX_ALIAS_COUNT = 100;

/**
 * The first of a document's YAML problems: the later ones mostly follow from it (an unquoted
 * `[` in a flow mapping gives one per token after it). An expression YAML misread is explained
 * as such, with its quoted form.
 */
function yamlProblem(file: string, text: string, lines: LineCounter, problems: Array<{ message: string; pos: [number, number] }>): Diagnostic {
  const first = problems[0]!;
  const unquoted = unquotedExpressionAt(text, first.pos[0]);
  if (unquoted) {
    return error("yaml-unquoted-expression", `quote the ${unquoted.key} expression: ${unquoted.reason}`, spanOfOffsets(file, lines, unquoted.start, unquoted.end),
      `write ${unquoted.key}: ${unquoted.quoted}`);
  }
  const more = problems.length - 1;
  return error("yaml-syntax", firstLine(first.message), spanOfOffsets(file, lines, first.pos[0], first.pos[1]),
    `fix the YAML syntax at this position (indentation, a missing ':' or an unclosed quote)${more ? `; ${more} more YAML error${more === 1 ? "" : "s"} after it, which often follow from this one, are not shown` : ""}`);
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
