/**
 * Expressions that YAML reads as something else when they are not quoted: `[` inside a flow
 * mapping, `: `, ` #`, a leading `*` `&` `!` `%` `@` `` ` ``. A YAML error (or an unknown tag)
 * at such a value is explained as "quote the expression", with the quoted form, instead of the
 * parser's token-level complaints.
 */

/** Spec keys whose values are expressions. */
const EXPRESSION_KEYS = ["filter", "if", "sum", "min", "max", "set", "hist", "from", "key"];

const KEY = new RegExp(`(?:^|[\\s{,\\[])(${EXPRESSION_KEYS.join("|")})[ \\t]*:(?=[ \\t]|$)[ \\t]*`, "g");

export interface UnquotedExpression {
  key: string;
  /** The expression as the spec writes it (unquoted). */
  expression: string;
  /** The same, quoted so that YAML reads it as one string. */
  quoted: string;
  /** What YAML made of it. */
  reason: string;
  /** Offsets of the expression in the text. */
  start: number;
  end: number;
}

/**
 * The unquoted expression that explains a YAML problem at `offset`: one on the problem's line,
 * or on one of the two lines before it (the parser may notice only at the next line), whose
 * text YAML cannot read as a plain string.
 */
export function unquotedExpressionAt(text: string, offset: number): UnquotedExpression | undefined {
  let lineEnd = text.indexOf("\n", offset);
  if (lineEnd < 0) lineEnd = text.length;
  let lineStart = offset === 0 ? 0 : text.lastIndexOf("\n", offset - 1) + 1;
  for (let i = 0; i < 3; i++) {
    const found = onLine(text, lineStart, lineEnd, offset);
    if (found) return found;
    if (lineStart === 0) return undefined;
    lineEnd = lineStart - 1;
    lineStart = text.lastIndexOf("\n", lineEnd - 1) + 1;
  }
  return undefined;
}

function onLine(text: string, lineStart: number, lineEnd: number, offset: number): UnquotedExpression | undefined {
  const line = text.slice(lineStart, lineEnd);
  let found: UnquotedExpression | undefined;
  for (const m of line.matchAll(KEY)) {
    const valueAt = m.index + m[0].length;
    if (lineStart + valueAt > offset) break;
    const key = m[1]!;
    const first = line[valueAt];
    if (first === undefined || first === '"' || first === "'") continue;
    if (key === "key" && first === "{") continue; // a struct key: a mapping by design
    const flow = inFlow(line.slice(0, m.index + 1));
    const expression = flow ? flowValue(line, valueAt) : line.slice(valueAt).trimEnd();
    const reason = misreading(expression, flow);
    if (reason) found = { key, expression, quoted: quote(expression), reason, start: lineStart + valueAt, end: lineStart + valueAt + expression.length };
  }
  return found;
}

/** Whether the line is inside `{ ... }` or `[ ... ]` where the key starts. */
function inFlow(before: string): boolean {
  let depth = 0;
  for (const c of before) {
    if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && depth > 0) depth--;
  }
  return depth > 0;
}

/** A value inside a flow mapping: up to the `,` or `}` that ends it, brackets balanced. */
function flowValue(line: string, at: number): string {
  let depth = 0;
  let i = at;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) break;
      depth--;
    } else if (c === "," && depth === 0) break;
  }
  return line.slice(at, i).trimEnd();
}

const LEADING: Record<string, string> = {
  "*": "as an alias (a reference to an anchor)",
  "&": "as an anchor",
  "!": "as a tag",
  "%": "as a directive",
  "@": "as a reserved character",
  "`": "as a reserved character",
  "[": "as the start of a list",
  "{": "as the start of a mapping",
};

/** What YAML makes of this unquoted text, or undefined when it reads it as the string it is. */
function misreading(expression: string, flow: boolean): string | undefined {
  const lead = LEADING[expression[0] ?? ""];
  if (lead) return `YAML reads a leading '${expression[0]}' ${lead}`;
  if (/:(\s|$)/.test(expression)) return "YAML reads ': ' as the start of a mapping";
  if (flow && /[[\]{}]/.test(expression)) return `inside { } YAML reads '${/[[\]]/.test(expression) ? "[" : "{"}' as the start of a ${/[[\]]/.test(expression) ? "list" : "mapping"}`;
  if (/\s#/.test(expression)) return "YAML reads ' #' as the start of a comment";
  return undefined;
}

/** Double quotes, or single quotes when the expression has double quotes of its own (strings). */
export function quote(expression: string): string {
  if (!expression.includes('"')) return `"${expression.replace(/\\/g, "\\\\")}"`;
  return `'${expression.replace(/'/g, "''")}'`;
}
