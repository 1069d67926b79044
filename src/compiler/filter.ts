/**
 * The filter language: C-like expressions over captured values, parsed by us (never passed
 * through as C). `uid != 0 && (comm == "bash" || flags & 0x40)`, and map reads:
 * `start[args.next_pid]`, `by_user[uid, comm]`, `total[]`, `args.pid in start`.
 */

export type BinaryOp =
  | "||" | "&&" | "|" | "^" | "&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "<<" | ">>" | "+" | "-" | "*" | "/" | "%";
export type UnaryOp = "!" | "-" | "~";

export type FilterAst =
  | { kind: "int"; value: bigint; start: number; end: number }
  | { kind: "string"; value: string; start: number; end: number }
  | { kind: "name"; path: string[]; start: number; end: number }
  | { kind: "unary"; op: UnaryOp; operand: FilterAst; start: number; end: number }
  | { kind: "binary"; op: BinaryOp; left: FilterAst; right: FilterAst; start: number; end: number }
  /** `MAP[KEY, ...]` (one key per member of a struct key, none for a keyless map), `.member` of a struct value. */
  | { kind: "lookup"; map: MapName; keys: FilterAst[]; member?: MapName; start: number; end: number }
  /** `KEY in MAP`, `(KEY, KEY) in MAP`: whether the map has the key. */
  | { kind: "in"; keys: FilterAst[]; map: MapName; start: number; end: number }
  /** `(a, b)`: only the key of `in` (the parser refuses it anywhere else). */
  | { kind: "tuple"; items: FilterAst[]; start: number; end: number };

/** A name with its place in the text. */
export interface MapName {
  name: string;
  start: number;
  end: number;
}

export class FilterSyntaxError extends Error {
  constructor(message: string, readonly start: number, readonly end: number, readonly hint?: string) {
    super(message);
  }
}

type Token =
  | { kind: "int"; value: bigint; start: number; end: number }
  | { kind: "string"; value: string; start: number; end: number }
  | { kind: "ident"; value: string; start: number; end: number }
  | { kind: "op"; value: string; start: number; end: number }
  | { kind: "eof"; start: number; end: number };

const operators = ["||", "&&", "==", "!=", "<=", ">=", "<<", ">>", "|", "^", "&", "<", ">", "+", "-", "*", "/", "%", "!", "~", "(", ")", ".", "[", "]", ","];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const start = i;
    if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|0b[01]+|0o[0-7]+|[0-9]+)/.exec(text.slice(i))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(text[i] ?? "")) throw new FilterSyntaxError(`malformed number '${text.slice(start, i + 1)}'`, start, i + 1);
      tokens.push({ kind: "int", value: BigInt(m[0]), start, end: i });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      i += m[0].length;
      tokens.push({ kind: "ident", value: m[0], start, end: i });
      continue;
    }
    if (c === '"' || c === "'") {
      let value = "";
      i++;
      for (;;) {
        const ch = text[i];
        if (ch === undefined) throw new FilterSyntaxError("unterminated string", start, i, `close it with ${c}`);
        i++;
        if (ch === c) break;
        if (ch === "\\") {
          const esc = text[i++];
          const map: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0" };
          if (esc === undefined || !(esc in map)) throw new FilterSyntaxError(`unknown escape '\\${esc ?? ""}'`, i - 2, i, "use \\n, \\t, \\\\, \\\" or \\'");
          value += map[esc];
        } else {
          value += ch;
        }
      }
      tokens.push({ kind: "string", value, start, end: i });
      continue;
    }
    const op = operators.find((o) => text.startsWith(o, i));
    if (!op) throw new FilterSyntaxError(`unexpected character '${c}'`, i, i + 1, "filters use C-like operators: == != < <= > >= && || ! & | ^ + - * / %, parentheses, MAP[KEY] and KEY in MAP");
    i += op.length;
    tokens.push({ kind: "op", value: op, start, end: i });
  }
  tokens.push({ kind: "eof", start: text.length, end: text.length });
  return tokens;
}

/**
 * How deep an expression may nest (operators inside operators, parentheses included). Far beyond
 * what a person writes; it keeps every recursive pass (typing, folding, printing) off the end of
 * the stack and the printed C within clang's 256 levels of brackets.
 */
export const MAX_EXPRESSION_DEPTH = 64;

const levels: BinaryOp[][] = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", "<=", ">", ">="], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];
/** `KEY in MAP` binds like the comparisons `<` and `>`. */
const IN_LEVEL = 6;

export function parseFilter(text: string): FilterAst {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const isOp = (v: string) => { const t = peek(); return t.kind === "op" && t.value === v; };
  const depths = new WeakMap<FilterAst, number>();
  const depthOf = (node: FilterAst) => depths.get(node) ?? 1;
  let open = 0; // parentheses and prefix operators the parser is inside of now
  const tooDeep = (start: number, end: number) => new FilterSyntaxError(
    `this expression nests more than ${MAX_EXPRESSION_DEPTH} levels deep`, start, end,
    "split it into simpler conditions (a filter, an update's 'if', a param)");
  /** Records a new node's depth, refusing one deeper than the limit. */
  const measured = <T extends FilterAst>(node: T, ...children: FilterAst[]): T => {
    const depth = 1 + Math.max(0, ...children.map(depthOf));
    if (depth > MAX_EXPRESSION_DEPTH) throw tooDeep(node.start, node.end);
    depths.set(node, depth);
    return node;
  };
  const enter = (t: Token) => {
    if (++open > MAX_EXPRESSION_DEPTH) throw tooDeep(t.start, t.end);
  };

  function binary(level: number): FilterAst {
    if (level === levels.length) return unary();
    let left = binary(level + 1);
    for (;;) {
      const t = peek();
      if (level === IN_LEVEL && t.kind === "ident" && t.value === "in") {
        pos++;
        const map = mapName("after 'in'", "KEY in MAP tests whether MAP has KEY: args.pid in start");
        const keys = left.kind === "tuple" ? left.items : [left];
        left = measured({ kind: "in", keys, map, start: left.start, end: map.end }, ...keys);
        continue;
      }
      if (t.kind !== "op" || !levels[level]!.includes(t.value as BinaryOp)) return left;
      if (left.kind === "tuple") throw misplacedTuple(left);
      pos++;
      const right = binary(level + 1);
      if (right.kind === "tuple") throw misplacedTuple(right);
      left = measured({ kind: "binary", op: t.value as BinaryOp, left, right, start: left.start, end: right.end }, left, right);
    }
  }

  function misplacedTuple(node: FilterAst): FilterSyntaxError {
    return new FilterSyntaxError("a list in parentheses is a map's key, and only tests a map with 'in'", node.start, node.end,
      "write (KEY, KEY) in MAP, or MAP[KEY, KEY] to read the value");
  }

  /** The map name after `in`. */
  function mapName(where: string, hint: string): MapName {
    const t = peek();
    if (t.kind !== "ident") throw new FilterSyntaxError(`expected a map's name ${where}`, t.start, t.end, hint);
    pos++;
    return { name: t.value, start: t.start, end: t.end };
  }

  /** `[KEY, ...]` after a map's name, and a `.member` of its struct value. */
  function lookup(map: MapName): FilterAst {
    const bracket = peek();
    pos++;
    enter(bracket);
    const keys: FilterAst[] = [];
    if (!isOp("]")) {
      for (;;) {
        const key = binary(0);
        if (key.kind === "tuple") throw misplacedTuple(key);
        keys.push(key);
        if (!isOp(",")) break;
        pos++;
      }
    }
    if (!isOp("]")) throw new FilterSyntaxError("expected ']'", peek().start, peek().end, "close the key with ]: start[args.next_pid]");
    let end = peek().end;
    pos++;
    open--;
    let member: MapName | undefined;
    if (isOp(".")) {
      pos++;
      member = mapName("after '.'", "name a member of the map's struct value: m[k].member");
      end = member.end;
    }
    if (isOp("[")) throw new FilterSyntaxError("a map's value is not a map", peek().start, peek().end, "read one map at a time: m[k]");
    return measured({ kind: "lookup", map, keys, ...(member ? { member } : {}), start: map.start, end }, ...keys);
  }

  function unary(): FilterAst {
    const t = peek();
    if (t.kind === "op" && (t.value === "!" || t.value === "-" || t.value === "~")) {
      pos++;
      enter(t);
      const operand = unary();
      open--;
      return measured({ kind: "unary", op: t.value, operand, start: t.start, end: operand.end }, operand);
    }
    return primary();
  }

  function primary(): FilterAst {
    const t = peek();
    pos++;
    switch (t.kind) {
      case "int": return { kind: "int", value: t.value, start: t.start, end: t.end };
      case "string": return { kind: "string", value: t.value, start: t.start, end: t.end };
      case "ident": {
        if (isOp("[")) return lookup({ name: t.value, start: t.start, end: t.end });
        const path = [t.value];
        let end = t.end;
        while (isOp(".")) {
          pos++;
          const next = peek();
          if (next.kind !== "ident") throw new FilterSyntaxError("expected a name after '.'", next.start, next.end);
          pos++;
          path.push(next.value);
          end = next.end;
        }
        return { kind: "name", path, start: t.start, end };
      }
      case "op":
        if (t.value === "(") {
          enter(t);
          const inner = binary(0);
          const items = [inner];
          while (isOp(",")) {
            pos++;
            items.push(binary(0));
          }
          if (!isOp(")")) throw new FilterSyntaxError("expected ')'", peek().start, peek().end, "close the parenthesis");
          const end = peek().end;
          pos++;
          open--;
          if (items.length > 1) return measured({ kind: "tuple", items, start: t.start, end }, ...items);
          return measured(inner, inner);
        }
        throw new FilterSyntaxError(`unexpected '${t.value}'`, t.start, t.end, "expected a value: a name, a number or a string");
      case "eof":
        throw new FilterSyntaxError("the filter ends too early", t.start, t.end, "complete the expression");
    }
  }

  const ast = binary(0);
  if (ast.kind === "tuple") throw misplacedTuple(ast);
  const rest = peek();
  if (rest.kind !== "eof") {
    throw new FilterSyntaxError(`unexpected '${text.slice(rest.start, rest.end)}'`, rest.start, rest.end, "join conditions with && or ||");
  }
  return ast;
}
