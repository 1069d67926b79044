/**
 * The `print fmt:` line of a tracefs format: which fields the kernel prints by name, with
 * `__print_symbolic(REC->state, { 1, "TCP_ESTABLISHED" }, …)` or
 * `__print_flags(REC->flags, "|", { 0x1, "S" }, …)`. Those tables are the kernel's own names
 * for the field's values; probegen decodes events with them.
 *
 * Only a table whose argument is the field itself (`REC->name`) and whose every value is a
 * constant (`2`, `0x40`, `1 << 3`) is kept: a masked argument or a value left as an unexpanded
 * macro (`I_DIRTY_SYNC`) would decode wrongly, so such a table is ignored.
 */

/** A build-time table of a field's values and their names, in the kernel's order. */
export interface PrintedTable {
  kind: "symbolic" | "flags";
  entries: Array<{ value: bigint; name: string }>;
}

/** Field name -> its table, for the fields the print fmt prints with __print_symbolic/__print_flags. */
export function parsePrintFmt(line: string): Map<string, PrintedTable> {
  const tables = new Map<string, PrintedTable>();
  const call = /__print_(symbolic|flags)\s*\(/g;
  for (let m = call.exec(line); m; m = call.exec(line)) {
    const open = m.index + m[0].length - 1;
    const close = matchingClose(line, open);
    if (close < 0) break;
    const args = splitTopLevel(line.slice(open + 1, close));
    const kind = m[1] as "symbolic" | "flags";
    const field = /^\(*\s*REC->([A-Za-z_][A-Za-z0-9_]*)\s*\)*$/.exec(args[0] ?? "");
    const entries = (kind === "flags" ? args.slice(2) : args.slice(1)).map(entryOf);
    if (field && !tables.has(field[1]!) && entries.length > 0 && entries.every((e) => e !== undefined)) {
      tables.set(field[1]!, { kind, entries: entries as PrintedTable["entries"] });
    }
    call.lastIndex = close;
  }
  return tables;
}

/** Index of the bracket closing the one at `open`, skipping string literals; -1 if none. */
function matchingClose(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') i = stringEnd(text, i);
    else if (c === "(" || c === "{" || c === "[") depth++;
    else if ((c === ")" || c === "}" || c === "]") && --depth === 0) return i;
  }
  return -1;
}

/** Index of the quote closing the string literal opened at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return text.length;
}

/** `a, f(b, c), { 1, "x,y" }` -> ["a", "f(b, c)", '{ 1, "x,y" }']. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') i = stringEnd(text, i);
    else if (c === "(" || c === "{" || c === "[") depth++;
    else if (c === ")" || c === "}" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) parts.push(last);
  return parts;
}

/** `{ 1 << 3, "BOOTTIME" }` -> { value: 8n, name: "BOOTTIME" }; undefined unless both are constants. */
function entryOf(text: string): { value: bigint; name: string } | undefined {
  if (!text.startsWith("{") || !text.endsWith("}")) return undefined;
  const [valueText, nameText, ...rest] = splitTopLevel(text.slice(1, -1));
  if (valueText === undefined || nameText === undefined || rest.length) return undefined;
  const name = /^"((?:[^"\\]|\\.)*)"$/.exec(nameText)?.[1];
  const value = evaluate(valueText);
  return name !== undefined && value !== undefined ? { value, name: name.replace(/\\(.)/g, "$1") } : undefined;
}

/**
 * The value of a constant C expression as the kernel prints them in tables: integers (decimal,
 * hex, octal, with U/L suffixes), parentheses, casts to integer types, unary - ~, and
 * `* / + - << >> & ^ |`. Anything else (a macro name) gives undefined.
 */
export function evaluate(text: string): bigint | undefined {
  const tokens = text.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|<<|>>|[-+~*/&|^()]|[A-Za-z_][A-Za-z0-9_ ]*|\S/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  // Binary operators by C precedence, loosest first.
  const levels = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/"]];
  const binary = (level: number): bigint | undefined => {
    if (level === levels.length) return unary();
    let left = binary(level + 1);
    while (left !== undefined && levels[level]!.includes(peek() ?? "")) {
      const op = tokens[pos++]!;
      const right = binary(level + 1);
      if (right === undefined || (op === "/" && right === 0n)) return undefined;
      left = apply(op, left, right);
    }
    return left;
  };
  const unary = (): bigint | undefined => {
    const t = tokens[pos++];
    if (t === undefined) return undefined;
    if (t === "-") { const v = unary(); return v === undefined ? undefined : -v; }
    if (t === "~") { const v = unary(); return v === undefined ? undefined : ~v; }
    if (t === "(") {
      // A cast to an integer type, `(unsigned long)x`, leaves the value as it is.
      if (/^(unsigned|signed|long|int|short|char|u8|u16|u32|u64|s8|s16|s32|s64|__u\d+|__s\d+)\b/.test(peek() ?? "") && tokens[pos + 1] === ")") {
        pos += 2;
        return unary();
      }
      const v = binary(0);
      return tokens[pos++] === ")" ? v : undefined;
    }
    const n = /^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$/.exec(t);
    if (!n) return undefined;
    return BigInt(n[1]!.length > 1 && n[1]!.startsWith("0") && !/^0[xX]/.test(n[1]!) ? `0o${n[1]!.slice(1)}` : n[1]!);
  };
  const value = binary(0);
  return pos === tokens.length ? value : undefined;
}

function apply(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case "|": return a | b;
    case "^": return a ^ b;
    case "&": return a & b;
    case "<<": return a << b;
    case ">>": return a >> b;
    case "+": return a + b;
    case "-": return a - b;
    case "*": return a * b;
    default: return a / b;
  }
}
