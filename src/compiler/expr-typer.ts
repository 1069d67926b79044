/**
 * Types expressions (filters, map keys and values) against a program's Scope, turning the
 * parsed tree into typed IR with spans that point inside the spec's string.
 */
import { error, type Diagnostic, type SourceSpan } from "./diagnostics.js";
import { FilterSyntaxError, parseFilter, type FilterAst } from "./filter.js";
import { isSocketMap, sourceKey, sourceName, type IrComposite, type IrExpr, type IrField, type IrLookup, type IrMap, type IrStructMember, type LookupRead } from "./ir.js";
import { didYouMean } from "./suggest.js";
import type { SpecPath, SpecSource } from "./parse.js";
import type { Scope } from "./scope.js";
import { packetDecoder } from "./packet.js";
import { anyInteger, constantOf, fits, integerText, OPERATION_BITS, rangeOf, rangeText } from "./constants.js";
import { arrayFits, arraySourceText, i64, typeName, u32, u64, type ArrayType, type BoolType, type IntType, type ScalarOrString } from "./types.js";

/** The maps a program's expressions may read, as the resolver declared them. */
export interface MapReader {
  /** The map of that name; "refused" when its declaration was refused (its own error says why). */
  map(name: string): IrMap<undefined> | "refused" | undefined;
  names(): string[];
}

/** The lookups of one program: each map and key read once, whatever the number of reads. */
class Lookups {
  private readonly byKey = new Map<string, IrLookup>();

  get(map: IrMap<undefined>, key: IrComposite<undefined>, text: string, span: SourceSpan): IrLookup {
    const id = `${map.name}[${compositeKey(key)}]`;
    let lookup = this.byKey.get(id);
    if (!lookup) this.byKey.set(id, (lookup = { map, key, local: `pg_lookup${this.byKey.size}`, text, span }));
    return lookup;
  }
}

export class ExprTyper {
  readonly problems: Diagnostic[] = [];

  constructor(
    private readonly source: SpecSource,
    private readonly scope: Scope,
    /** Fields the program captures: a name they give means their value. */
    private readonly fields: IrField[] = [],
    private readonly maps: MapReader = { map: () => undefined, names: () => [] },
  ) {}

  private readonly lookups = new Lookups();

  private visitor(path: SpecPath, what: string, text: string): Visitor {
    return new Visitor(this.source, path, text, this.scope, this.fields, what, this.problems, this.maps, this.lookups);
  }

  /** Parses and types the expression at `path` (a string, or a number written as YAML). */
  check(text: string | number, path: SpecPath, what = "filter"): IrExpr | undefined {
    if (typeof text === "number") {
      const span = this.source.spanOf(path);
      const value = this.source.integerAt(path);
      if (value === undefined) {
        this.problems.push(error("expression-type", `${what}: ${this.source.textAt(path) ?? text} is not a whole number`, span, "write an integer in digits, e.g. 42 or 0x2a"));
        return undefined;
      }
      return this.visitor(path, what, String(text)).literal(value, span);
    }
    let ast: FilterAst;
    try {
      ast = parseFilter(text);
    } catch (e) {
      if (!(e instanceof FilterSyntaxError)) throw e;
      this.problems.push(error(`${what === "filter" ? "filter" : "expression"}-syntax`, `${what}: ${e.message}`, this.source.spanInScalar(path, e.start, e.end), e.hint));
      return undefined;
    }
    return this.visitor(path, what, text).visit(ast);
  }
}

class Visitor {
  constructor(
    private readonly source: SpecSource,
    private readonly path: SpecPath,
    /** The expression's text (offsets in the tree are into it). */
    private readonly text: string,
    private readonly scope: Scope,
    private readonly fields: IrField[],
    private readonly what: string,
    private readonly problems: Diagnostic[],
    private readonly maps: MapReader,
    private readonly lookups: Lookups,
  ) {}

  private at(node: { start: number; end: number }): SourceSpan {
    return this.source.spanInScalar(this.path, node.start, node.end);
  }

  visit(node: FilterAst): IrExpr | undefined {
    const span = this.at(node);
    switch (node.kind) {
      case "int":
        return this.literal(node.value, span);
      case "string":
        return { kind: "string", value: node.value, type: { kind: "string", size: Buffer.byteLength(node.value) + 1 }, span };
      case "lookup":
        return this.lookup(node, span);
      case "in":
        return this.lookup(node, span);
      case "tuple":
        return this.problem("a list in parentheses is a map's key, and only tests a map with 'in'", span, "write (KEY, KEY) in MAP");
      case "name": {
        // A name a field gave (with its own type) means that field's value.
        const captured = node.path.length === 1 ? this.fields.find((f) => f.name === node.path[0] && f.source.kind !== "builtin") : undefined;
        if (!captured && this.namesMap(node.path)) return this.mapAsName(node.path, span);
        const value = captured ? undefined : this.scope.lookup(node.path, span);
        if ((captured ?? value)?.type.kind === "string_list") {
          return this.problem(`'${node.path.join(".")}' is a list of strings, which only an event can carry`, span,
            "capture it as a field (fields: [argv]) and look at it in user space");
        }
        if (captured) return { kind: "value", source: captured.source, type: captured.type, span };
        if (value?.address && this.what !== "filter" && this.what !== "if") {
          return this.problem(`'${node.path.join(".")}' is a pointer (${value.address}): a map holds an address only when asked`, span,
            "capture it as a field with 'type: u64' (the address) and use the field's name here");
        }
        return value ? { kind: "value", source: value.source, type: value.type, span } : undefined;
      }
      case "unary": {
        const operand = this.visit(node.operand);
        if (!operand) return undefined;
        if (operand.type.kind === "string") return this.problem(`'${node.op}' needs a number, not a string`, span, "compare the string with == or !=");
        if (operand.type.kind === "array") return this.arrayOperand(operand, span);
        const type: IntType | BoolType = node.op === "!" ? { kind: "bool" } : operand.type.kind === "int" ? operand.type : i64;
        return { kind: "unary", op: node.op, operand, type, span };
      }
      case "binary":
        return this.binary(node, span);
    }
  }

  /** `maps.start`, `maps.start.value`, or a map's bare name where no value has that name. */
  private namesMap(path: string[]): boolean {
    if (path[0] === "maps" && path.length >= 2) return !this.scope.names().includes(path.join("."));
    return this.maps.map(path[0]!) !== undefined && !["args", "task", "params", "exit"].includes(path[0]!) && !this.scope.names().includes(path[0]!);
  }

  private mapAsName(path: string[], span: SourceSpan): undefined {
    const name = path[0] === "maps" ? path[1]! : path[0]!;
    const map = this.maps.map(name);
    if (map === "refused") return undefined;
    if (!map || map.internal) {
      return this.problem(`'${path.join(".")}' is not a value; maps are read with MAP[KEY], and there is no map called '${name}'.${didYouMean(name, this.maps.names())}`, span,
        this.maps.names().length ? `declared maps: ${this.maps.names().join(", ")}` : "declare it under maps:");
    }
    return this.problem(`'${path.join(".")}' names map '${name}'; a map is read at a key`, span, `write ${readSyntax(map)}`);
  }

  /** `m[k]`, `m[k].member`, `m[]` and `k in m`. */
  private lookup(node: FilterAst & { kind: "lookup" | "in" }, span: SourceSpan): IrExpr | undefined {
    const presence = node.kind === "in";
    const name = node.map.name;
    const mapSpan = this.at(node.map);
    const map = this.maps.map(name);
    if (map === "refused") return undefined;
    if (!map || map.internal) {
      return this.problem(`no map called '${name}'.${didYouMean(name, this.maps.names())}`, mapSpan,
        this.maps.names().length ? `declared maps: ${this.maps.names().join(", ")}` : "declare it under maps:");
    }
    if (map.kind === "ringbuf") {
      return this.problem(`'${name}' is a ring buffer: programs send it events, and it has no values to read`, mapSpan, "read a hash or array map: MAP[KEY]");
    }
    if (isSocketMap(map.kind)) {
      return this.problem(`'${name}' is a ${map.kind}: it holds sockets, which programs do not read`, mapSpan, "read a hash or array map: MAP[KEY]");
    }
    if (!map.key || !map.value) return undefined; // the declaration has its error already
    const members = map.key.kind === "struct" ? map.key.struct.members : undefined;
    const wanted = map.keyless ? 0 : members ? members.length : 1;
    if (node.keys.length !== wanted) {
      if (map.keyless) {
        return this.problem(presence ? `'${name}' has no key: it always holds its one value` : `'${name}' has no key: it holds one value`, span,
          presence ? `read it with ${name}[]` : `write ${name}[]`);
      }
      return this.problem(`'${name}' is keyed by ${describeKey(map)}: give ${wanted === 1 ? "one key" : `${wanted} keys, one per member in this order`}`, span,
        `write ${readSyntax(map)}`);
    }
    const keyTypes = members ? members.map((m) => m.type) : [map.keyless ? u32 : (map.key as { scalar: ScalarOrString }).scalar];
    const keys: IrExpr[] = [];
    for (const [i, k] of node.keys.entries()) {
      const expr = this.visit(k);
      if (!expr) return undefined;
      if (!this.keyFits(expr, keyTypes[i]!, members?.[i], map)) return undefined;
      keys.push(expr);
    }
    const key: IrComposite<undefined> = map.keyless
      ? { kind: "scalar", type: u32, expr: { kind: "int", value: 0n, type: u32, span } }
      : map.key.kind === "struct"
        ? { kind: "struct", struct: map.key.struct, members: map.key.struct.members.map((member, i) => ({ member, expr: keys[i]! })) }
        : { kind: "scalar", type: keyTypes[0]!, expr: keys[0]! };
    const text = `${name}[${node.keys.map((k) => this.textOf(k)).join(", ")}]`;
    const lookup = this.lookups.get(map, key, text, span);
    if (presence) return { kind: "value", source: { kind: "lookup", lookup, read: { kind: "found" } }, type: { kind: "bool" }, span };
    const value = map.value;
    if (value.kind === "histogram") {
      return this.problem(`'${name}' holds a histogram, which programs only add to (hist:)`, span,
        `read it in user space (probe.maps.${map.tsName}.get(${map.keyless ? "" : "KEY"}), or probegen run prints it); to test for a key, write KEY in ${name}`);
    }
    let read: LookupRead = { kind: "value" };
    let type: ScalarOrString;
    if (value.kind === "struct") {
      const memberName = node.kind === "lookup" ? node.member : undefined;
      if (!memberName) {
        return this.problem(`'${name}' holds a struct: read one of its members`, span,
          `write ${text}.${value.struct.members[0]?.name ?? "MEMBER"} (members: ${value.struct.members.map((m) => m.name).join(", ")})`);
      }
      const member = value.struct.members.find((m) => m.name === memberName.name);
      if (!member) {
        return this.problem(`the value of '${name}' has no member '${memberName.name}'.${didYouMean(memberName.name, value.struct.members.map((m) => m.name))}`,
          this.at(memberName), `members: ${value.struct.members.map((m) => m.name).join(", ")}`);
      }
      read = { kind: "member", member };
      type = member.type;
    } else {
      if (node.kind === "lookup" && node.member) {
        return this.problem(`the value of '${name}' is ${typeName(value.scalar)}, not a struct`, this.at(node.member), `write ${text}`);
      }
      type = value.scalar;
    }
    if (type.kind === "string" || type.kind === "array") {
      return this.problem(`${read.kind === "member" ? `'${read.member.name}' of '${name}'` : `the value of '${name}'`} is ${typeName(type)}: only numbers can be read from a map in an expression`, span,
        "store a number in the map, or capture the value as a field and read it in user space");
    }
    return { kind: "value", source: { kind: "lookup", lookup, read }, type, span };
  }

  /** Whether a key expression goes into a key (member) of type `to`; reports why not. */
  private keyFits(expr: IrExpr, to: ScalarOrString, member: IrStructMember | undefined, map: IrMap<undefined>): boolean {
    const what = member ? `member '${member.name}' of the key of '${map.name}'` : `the key of '${map.name}'`;
    const hint = `write ${readSyntax(map)}`;
    if (to.kind === "int" || to.kind === "bool") {
      if (expr.type.kind === "string" || expr.type.kind === "array") {
        this.problem(`${what} is ${typeName(to)}, and this is ${expr.type.kind === "string" ? "a string" : `an array (${typeName(expr.type)})`}`, expr.span, hint);
        return false;
      }
      const constant = constantOf(expr);
      if (constant !== undefined && (to.kind === "int" ? !fits(constant, to) : constant !== 0n && constant !== 1n)) {
        this.problem(`${integerText(constant)} does not fit in ${what}: ${to.kind === "int" ? rangeText(to) : "bool (0 or 1)"}`, expr.span, "use a value in that range");
        return false;
      }
      return true;
    }
    if (expr.kind !== "value" || expr.type.kind !== to.kind || (to.kind === "array" && !arrayFits(expr.type as ArrayType, to))) {
      this.problem(`${what} is ${typeName(to)}: give ${to.kind === "string" ? "a captured string (such as comm)" : to.kind === "array" ? arraySourceText(to) : "a captured value"}`, expr.span, hint);
      return false;
    }
    return true;
  }

  /** The expression as the spec wrote it. */
  private textOf(node: FilterAst): string {
    return this.text.slice(node.start, node.end);
  }

  /** An integer as written: any a 64-bit integer holds (the place it goes checks its own type). */
  literal(value: bigint, span: SourceSpan): IrExpr | undefined {
    if (value < anyInteger.min || value > anyInteger.max) {
      return this.problem(`${integerText(value)} does not fit in 64 bits (${anyInteger.min} to ${anyInteger.max})`, span, "use a smaller number");
    }
    return { kind: "int", value, type: value <= 0x7fffffffffffffffn ? i64 : u64, span };
  }

  private binary(node: FilterAst & { kind: "binary" }, span: SourceSpan): IrExpr | undefined {
    const left = this.visit(node.left);
    const right = this.visit(node.right);
    if (!left || !right) return undefined;
    for (const side of [left, right]) if (side.type.kind === "array") return this.arrayOperand(side, span);
    const address = this.addressLiteral(node.op, left, right, span);
    if (address !== null) return address;
    const named = this.probeName(node.op, left, right, span);
    if (named !== null) return named;
    const ls = left.type.kind === "string";
    const rs = right.type.kind === "string";
    if (ls || rs) {
      if (node.op !== "==" && node.op !== "!=") return this.problem(`strings can only be compared with == or !=, not '${node.op}'`, span);
      if (!(ls && rs)) return this.problem("cannot compare a string with a number", span, "compare strings with string literals in quotes, numbers with numbers");
      if (left.kind === "string" && right.kind === "string") return this.problem("comparing two literals is always the same", span, "compare a field with a literal");
      if (left.kind !== "string" && right.kind !== "string") {
        // A string parameter is already in memory (.rodata): it compares with any string value.
        if (isParam(left) || isParam(right)) return { kind: "binary", op: node.op, left, right, type: { kind: "bool" }, span };
        return this.problem("two captured strings cannot be compared with each other yet", span, "compare one of them with a literal in quotes, or with a string parameter");
      }
      const [value, literal] = left.kind === "string" ? [right, left] : [left, right];
      const capacity = (value.type as { size: number }).size;
      if (Buffer.byteLength((literal as { value: string }).value) >= capacity) {
        return this.problem(`the string is longer than '${nameOf(value)}' can hold (${capacity - 1} bytes)`, literal.span, "shorten it, or raise the field's size");
      }
      return { kind: "binary", op: node.op, left: value, right: literal, type: { kind: "bool" }, span };
    }
    const logical = node.op === "&&" || node.op === "||";
    const comparison = ["==", "!=", "<", "<=", ">", ">="].includes(node.op);
    const type: IntType | BoolType = logical || comparison ? { kind: "bool" } : widest(left.type, right.type);
    const e: IrExpr = { kind: "binary", op: node.op, left, right, type, span };
    return this.meaningful(e) ? e : undefined;
  }

  /**
   * `ip.saddr == "10.0.0.1"`: an IPv4 packet address compared with its text. The address is kept
   * in the packet's byte order (packet.ts), so the text becomes the number those bytes make in
   * this (little-endian BPF) program. null when this is not such a comparison.
   */
  private addressLiteral(op: string, left: IrExpr, right: IrExpr, span: SourceSpan): IrExpr | undefined | null {
    const isAddress = (e: IrExpr) => e.kind === "value" && e.source.kind === "packet" && packetDecoder(e.source) === "ipv4" && e.type.kind === "int" && e.type.size === 4;
    const [address, literal] = isAddress(left) ? [left, right] : [right, left];
    if (!isAddress(address) || literal.kind !== "string") return null;
    if (op !== "==" && op !== "!=") return this.problem(`an address is compared with its text by == or !=, not '${op}'`, span);
    const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(literal.value)?.slice(1).map(Number);
    if (!octets || octets.some((o) => o > 255)) return this.problem(`'${literal.value}' is not an IPv4 address`, literal.span, "write it as four numbers: \"10.0.0.1\"");
    const value = octets.reduceRight((n, o) => (n << 8n) | BigInt(o), 0n);
    return { kind: "binary", op: op as "==" | "!=", left: address, right: { kind: "int", value, type: u32, span: literal.span }, type: { kind: "bool" }, span };
  }

  /**
   * `probe == "tracepoint/syscalls/sys_enter_read"`: the name becomes its index at build time.
   * null when this is not a comparison of `probe` with a string.
   */
  private probeName(op: string, left: IrExpr, right: IrExpr, span: SourceSpan): IrExpr | undefined | null {
    const [probe, literal] = left.kind === "value" && left.source.kind === "probe" ? [left, right] : [right, left];
    if (probe.kind !== "value" || probe.source.kind !== "probe" || literal.kind !== "string") return null;
    if (op !== "==" && op !== "!=") return this.problem(`'probe' is compared with a name by == or !=, not '${op}'`, span);
    const index = this.scope.probeIndex(literal.value);
    if (index === undefined) {
      return this.problem(`'${literal.value}' is not an attach point of this program.${didYouMean(literal.value, this.scope.probeMatches())}`, literal.span,
        `it attaches to: ${this.scope.probeMatches().slice(0, 5).join(", ")}${this.scope.probeMatches().length > 5 ? ", ..." : ""}`);
    }
    return { kind: "binary", op: op as "==" | "!=", left: probe, right: { kind: "int", value: BigInt(index), type: u32, span: literal.span }, type: { kind: "bool" }, span };
  }

  /**
   * Refuses what has no meaning, or only one clang would fold without a word: a constant zero
   * divisor, a shift count outside 0..63 (every operation is done in 64 bits), a comparison the
   * types of its operands decide.
   */
  private meaningful(e: IrExpr & { kind: "binary" }): boolean {
    const right = constantOf(e.right);
    if ((e.op === "/" || e.op === "%") && right === 0n) {
      this.problem(`${e.op === "/" ? "division" : "remainder"} by zero`, e.right.span, "divide by a number other than 0");
      return false;
    }
    if ((e.op === "<<" || e.op === ">>") && right !== undefined && (right < 0n || right >= OPERATION_BITS)) {
      this.problem(`a shift by ${integerText(right)}: values are 64-bit, so a shift count goes from 0 to ${OPERATION_BITS - 1n}`, e.right.span,
        e.op === ">>" ? "shift by less than 64 (a shift by 64 or more would leave nothing)" : "shift by less than 64");
      return false;
    }
    const comparison = ["==", "!=", "<", "<=", ">", ">="].includes(e.op);
    const decided = comparison && e.left.type.kind !== "string" ? constantOf(e) : undefined;
    if (decided !== undefined && (constantOf(e.left) === undefined || right === undefined)) {
      const value = constantOf(e.left) === undefined ? e.left : e.right;
      const { min, max } = rangeOf(value)!;
      const what = value.kind === "value" && value.type.kind === "int" ? `${nameOf(value)} is ${typeName(value.type)}, from` : `${nameOf(value)} is always from`;
      this.problem(`this comparison is always ${decided ? "true" : "false"}: ${what} ${min} to ${max}`, e.span,
        decided ? "remove it: it holds for every value" : "compare with a value it can have");
      return false;
    }
    return true;
  }

  /** Arrays are captured, stored in maps and compared in user space; in an expression they mean nothing yet. */
  private arrayOperand(e: IrExpr, span: SourceSpan): undefined {
    return this.problem(`'${nameOf(e)}' is an array (${typeName(e.type as ScalarOrString)}), which cannot be compared or computed with`, span,
      "capture it as a field (or use it whole as a map key or value) and compare it in user space");
  }

  private problem(message: string, span: SourceSpan, hint?: string): undefined {
    this.problems.push(error(`${this.what === "filter" ? "filter" : "expression"}-type`, `${this.what}: ${message}`, span, hint));
    return undefined;
  }
}

function isParam(e: IrExpr): boolean {
  return e.kind === "value" && e.source.kind === "param";
}

/** How to read a map: `start[KEY]`, `by_user[UID, COMM]`, `total[]`. */
function readSyntax(map: IrMap<undefined>): string {
  if (map.keyless) return `${map.name}[]`;
  if (map.key?.kind === "struct") return `${map.name}[${map.key.struct.members.map((m) => m.name.toUpperCase()).join(", ")}]`;
  return `${map.name}[KEY]`;
}

function describeKey(map: IrMap<undefined>): string {
  if (map.key?.kind === "struct") return `a struct of ${map.key.struct.members.map((m) => `${m.name} (${typeName(m.type)})`).join(", ")}`;
  return map.key?.kind === "scalar" ? typeName(map.key.scalar) : "its key";
}

/** A string equal for two keys exactly when they are the same expressions (the same lookup). */
function compositeKey(c: IrComposite<undefined>): string {
  const exprs = c.kind === "scalar" ? [c.expr] : c.members.map((m) => m.expr);
  return exprs.map(exprKey).join(",");
}

function exprKey(e: IrExpr): string {
  switch (e.kind) {
    case "int": return String(e.value);
    case "string": return JSON.stringify(e.value);
    case "value": return `${sourceKey(e.source)}:${typeName(e.type)}`;
    case "unary": return `${e.op}(${exprKey(e.operand)})`;
    case "binary": return `(${exprKey(e.left)} ${e.op} ${exprKey(e.right)})`;
  }
}

export function nameOf(e: IrExpr): string {
  if (e.kind !== "value") return "the value";
  return sourceName(e.source);
}

function widest(a: ScalarOrString, b: ScalarOrString): IntType {
  const ai = a.kind === "int" ? a : { kind: "int" as const, size: 4 as const, signed: false };
  const bi = b.kind === "int" ? b : { kind: "int" as const, size: 4 as const, signed: false };
  return { kind: "int", size: Math.max(ai.size, bi.size) as IntType["size"], signed: ai.signed || bi.signed };
}
