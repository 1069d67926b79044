/**
 * Resolve: a validated spec against the kernel (tracefs formats, kernel symbols) into the typed
 * IR. Every mistake a user can make here becomes a diagnostic at its place in the spec.
 */
import { basename } from "node:path";
import { DiagnosticBag, DiagnosticError, error, type SourceSpan } from "./diagnostics.js";
import { FilterSyntaxError, parseFilter, type FilterAst } from "./filter.js";
import type { AttachPoint, Builtin, IrEvent, IrExpr, IrField, IrMap, IrMapType, IrProbe, IrProgram, MapKind, ValueSource } from "./ir.js";
import type { KernelSymbols } from "./kernel/kallsyms.js";
import { defaultFieldType, type Tracefs, type TracepointField } from "./kernel/tracefs.js";
import { layoutStruct } from "./layout.js";
import { camelCase, cIdentifierProblem, pascalCase } from "./names.js";
import type { SpecPath, SpecSource } from "./parse.js";
import type { FieldSpec, MapSpec, ProbeSpec, ProgramSpec, ValueTypeSpec } from "./spec.js";
import { closest, didYouMean } from "./suggest.js";
import { i64, parseTypeName, typeName, u32, u64, type BoolType, type IntType, type ScalarOrString } from "./types.js";

export interface KernelInfo {
  tracefs(): Tracefs | undefined;
  symbols(): KernelSymbols | undefined;
}

const builtins: Record<Builtin, { type: ScalarOrString; description: string }> = {
  pid: { type: u32, description: "process id (the thread group id)" },
  tid: { type: u32, description: "thread id" },
  uid: { type: u32, description: "user id" },
  gid: { type: u32, description: "group id" },
  comm: { type: { kind: "string", size: 16 }, description: "command name (the task's comm)" },
  ktime: { type: u64, description: "nanoseconds since boot (CLOCK_MONOTONIC)" },
  cpu: { type: u32, description: "CPU the event happened on" },
};

const DEFAULT_STRING_SIZE = 256;
const DEFAULT_RINGBUF_SIZE = 256 * 1024;
const DEFAULT_MAX_ENTRIES = 10240;
// libbpf 1.1 reads five argument registers (PT_REGS_PARM1..5).
const MAX_KPROBE_ARGS = 5;

export function resolveProbe(source: SpecSource, spec: ProbeSpec, kernel: KernelInfo): IrProbe {
  return new Resolver(source, spec, kernel).run();
}

class Resolver {
  private readonly bag = new DiagnosticBag();
  private readonly maps = new Map<string, IrMap>();
  private readonly events: IrEvent[] = [];
  private usesPtRegs = false;

  constructor(private readonly source: SpecSource, private readonly spec: ProbeSpec, private readonly kernel: KernelInfo) {}

  private span(path: SpecPath, which: "value" | "key" = "value"): SourceSpan {
    return this.source.spanOf(path, which);
  }

  private fail(code: string, message: string, path: SpecPath, hint?: string, which: "value" | "key" = "value"): void {
    this.bag.add(error(code, message, this.span(path, which), hint));
  }

  run(): IrProbe {
    const name = this.probeName();
    for (const [mapName, mapSpec] of Object.entries(this.spec.maps ?? {})) this.declareMap(mapName, mapSpec);
    const programs: IrProgram[] = [];
    const usedNames = new Set<string>();
    this.spec.programs.forEach((p, i) => {
      const program = this.program(p, ["programs", i], usedNames);
      if (program) programs.push(program);
    });
    this.bag.throwIfErrors();
    this.assignEventTags();
    const pascal = pascalCase(name);
    return {
      name,
      source: this.source.file,
      description: this.spec.description,
      license: this.spec.license ?? "GPL",
      programs,
      maps: [...this.maps.values()],
      events: this.events,
      ts: { loader: `load${pascal}`, probe: `${pascal}Probe`, event: `${pascal}Event`, maps: `${pascal}Maps` },
      usesPtRegs: this.usesPtRegs,
    };
  }

  private probeName(): string {
    if (this.spec.name) return this.spec.name;
    const fromFile = basename(this.source.file).replace(/\.ya?ml$/, "").replace(/-/g, "_");
    const problem = cIdentifierProblem(fromFile);
    if (problem) {
      throw new DiagnosticError([error("invalid-name", `the file name '${basename(this.source.file)}' does not make a probe name: ${problem}`,
        this.span([]), "add a 'name:' key, or rename the file")]);
    }
    return fromFile;
  }

  // ---- maps ---------------------------------------------------------------------------------

  private declareMap(name: string, spec: MapSpec): void {
    const path = ["maps", name];
    const problem = cIdentifierProblem(name);
    if (problem) return this.fail("invalid-name", `map name '${name}' cannot be used: ${problem}`, path, "rename the map", "key");
    const kind = spec.type as MapKind;
    const map: IrMap = {
      name, tsName: camelCase(name), kind, description: spec.description, maxEntries: 0, events: [], implicit: false,
      span: this.span(path, "key"),
    };
    if (kind === "ringbuf") {
      for (const extra of ["key", "value", "max_entries"] as const) {
        if (spec[extra] !== undefined) this.fail("invalid-map", `a ring buffer has no '${extra}'`, [...path, extra], "give its byte size with 'size:'", "key");
      }
      const size = spec.size === undefined ? DEFAULT_RINGBUF_SIZE : parseSize(spec.size);
      if (size < 4096 || (size & (size - 1)) !== 0) {
        this.fail("invalid-map", `ring buffer size ${size} is not a power of two of at least 4096 bytes`, [...path, "size"], "use e.g. 256KiB, 1MiB or 16MiB");
      }
      map.maxEntries = size;
    } else {
      if (spec.size !== undefined) this.fail("invalid-map", `'size' is for ring buffers; a ${kind} map has max_entries`, [...path, "size"], "use max_entries:", "key");
      const isArray = kind === "array" || kind === "percpu_array";
      map.key = spec.key === undefined && isArray ? { scalar: u32, size: 4 } : this.mapType(name, "key", spec.key, [...path, "key"]);
      map.value = this.mapType(name, "value", spec.value, [...path, "value"]);
      if (isArray && map.key?.scalar && !(map.key.scalar.kind === "int" && map.key.scalar.size === 4)) {
        this.fail("invalid-map", "array maps are indexed by u32", [...path, "key"], "remove 'key:' or set it to u32");
      }
      if (isArray && spec.max_entries === undefined) {
        this.fail("invalid-map", "an array map needs max_entries (its length)", path, "add max_entries:", "key");
      }
      map.maxEntries = spec.max_entries ?? DEFAULT_MAX_ENTRIES;
    }
    this.maps.set(name, map);
  }

  private mapType(mapName: string, role: "key" | "value", spec: ValueTypeSpec | undefined, path: SpecPath): IrMapType | undefined {
    if (spec === undefined) {
      this.fail("invalid-map", `map '${mapName}' needs a ${role} type`, path.slice(0, -1), `add '${role}: u32' (or another type)`, "key");
      return undefined;
    }
    if (typeof spec === "string") {
      const scalar = parseTypeName(spec)!;
      return { scalar, size: scalar.kind === "int" ? scalar.size : scalar.kind === "bool" ? 1 : scalar.size };
    }
    const members = Object.entries(spec).map(([name, t]) => {
      const problem = cIdentifierProblem(name);
      if (problem) this.fail("invalid-name", `member name '${name}' cannot be used: ${problem}`, [...path, name], "rename it", "key");
      return { name, tsName: camelCase(name), type: parseTypeName(t)! };
    });
    const layout = layoutStruct(members);
    const base = `${mapName}_${role}`;
    return { struct: { cName: `pg_${base}`, tsName: pascalCase(base), layout, members }, size: layout.size };
  }

  private outputMap(name: string | undefined, path: SpecPath): IrMap | undefined {
    const mapName = name ?? "events";
    const existing = this.maps.get(mapName);
    if (existing) {
      if (existing.kind !== "ringbuf") {
        this.fail("invalid-output", `events go to a ring buffer, and '${mapName}' is a ${existing.kind} map`, [...path, "output"],
          "name a map of type ringbuf, or leave 'output' out to use the default 'events' ring buffer");
        return undefined;
      }
      return existing;
    }
    if (name !== undefined) {
      const declared = Object.keys(this.spec.maps ?? {});
      this.fail("unknown-map", `no map called '${name}'.${didYouMean(name, declared)}`, [...path, "output"],
        "declare it under maps: with type: ringbuf, or leave 'output' out");
      return undefined;
    }
    const map: IrMap = { name: "events", tsName: "events", kind: "ringbuf", maxEntries: DEFAULT_RINGBUF_SIZE, events: [], implicit: true, span: this.span(path) };
    this.maps.set("events", map);
    return map;
  }

  // ---- programs -----------------------------------------------------------------------------

  private program(spec: ProgramSpec, path: SpecPath, usedNames: Set<string>): IrProgram | undefined {
    const attach = this.attachPoint(spec.attach, [...path, "attach"]);
    if (!attach) return undefined;
    const name = this.programName(spec, attach, path, usedNames);
    const scope = new Scope(attach, this, path);
    const fields = (spec.fields ?? []).map((f, i) => this.field(f, [...path, "fields", i], scope)).filter((f): f is IrField => !!f);
    this.checkUniqueFields(fields, path);
    const filter = spec.filter !== undefined ? this.filter(spec.filter, [...path, "filter"], scope, fields) : undefined;
    let event: IrEvent | undefined;
    let output: IrMap | undefined;
    if (fields.length > 0) {
      output = this.outputMap(spec.output, path);
      const eventName = spec.event ?? name;
      if (this.events.some((e) => e.name === eventName)) {
        this.fail("duplicate-event", `two programs emit an event called '${eventName}'`, [...path, spec.event ? "event" : "attach"], "give each program its own 'event:' name");
      }
      event = {
        name: eventName, cName: `pg_event_${eventName}`, tsName: `${pascalCase(eventName)}Event`, description: spec.description,
        fields, layout: layoutStruct(fields), span: this.span(path),
      };
      this.events.push(event);
      output?.events.push(event);
    } else if (spec.output !== undefined || spec.event !== undefined) {
      this.fail("no-fields", "this program names an event but captures no fields", path, "add 'fields:' with what to capture");
    }
    const section = attach.kind === "tracepoint" ? `tracepoint/${attach.category}/${attach.name}` : `${attach.kind}/${attach.function}`;
    return { name, attach, section, description: spec.description, filter, event, output, span: this.span(path) };
  }

  private programName(spec: ProgramSpec, attach: AttachPoint, path: SpecPath, used: Set<string>): string {
    let name = spec.name;
    if (name) {
      const problem = cIdentifierProblem(name);
      if (problem) this.fail("invalid-name", `program name '${name}' cannot be used: ${problem}`, [...path, "name"], "rename it");
      if (used.has(name)) this.fail("duplicate-program", `two programs are called '${name}'`, [...path, "name"], "give each a different name");
    } else {
      const base = attach.kind === "tracepoint" ? attach.name.toLowerCase() : `${attach.function.toLowerCase().replace(/[^a-z0-9_]/g, "_")}${attach.kind === "kretprobe" ? "_ret" : ""}`;
      const safe = cIdentifierProblem(base) ? `prog_${base.replace(/^_+/, "")}` : base;
      name = safe;
      for (let n = 2; used.has(name); n++) name = `${safe}_${n}`;
    }
    used.add(name);
    return name;
  }

  private attachPoint(text: string, path: SpecPath): AttachPoint | undefined {
    const [kind, ...rest] = text.split("/");
    if (kind === "tracepoint") {
      const [category, name] = rest as [string, string];
      const tracefs = this.kernel.tracefs();
      if (!tracefs) {
        this.fail("no-tracefs", "tracefs is not mounted, so tracepoint formats cannot be read", path,
          "mount it: mount -t tracefs tracefs /sys/kernel/tracing (as root)");
        return undefined;
      }
      const format = tracefs.format(category, name);
      if (!format) {
        const all = tracefs.allNames();
        const near = closest(`${category}/${name}`, all, 3);
        const byName = near.length ? near : all.filter((n) => n.endsWith(`/${name}`)).slice(0, 3);
        this.fail("unknown-tracepoint", `the kernel has no tracepoint '${category}/${name}'.${byName.length ? didYouMean(`${category}/${name}`, byName) || ` Did you mean '${byName[0]}'?` : ""}`,
          path, "list them with: ls /sys/kernel/tracing/events/CATEGORY/");
        return undefined;
      }
      return { kind: "tracepoint", category, name, format };
    }
    const func = rest.join("/");
    const symbols = this.kernel.symbols();
    if (symbols && !symbols.has(func)) {
      this.fail("unknown-function", `the kernel has no function '${func}' to attach a ${kind} to.${didYouMean(func, symbols.names())}`, path,
        "check the name in /proc/kallsyms; static or inlined functions cannot be probed");
      return undefined;
    }
    this.usesPtRegs = true;
    return { kind: kind as "kprobe" | "kretprobe", function: func };
  }

  // ---- fields -------------------------------------------------------------------------------

  private field(spec: FieldSpec, path: SpecPath, scope: Scope): IrField | undefined {
    const obj = typeof spec === "string" ? { from: spec } : spec;
    const from = obj.from ?? obj.name;
    if (!from) {
      this.fail("invalid-field", "a field needs 'from' or 'name'", path, "e.g. { name: path, from: filename }");
      return undefined;
    }
    const fromPath: SpecPath = typeof spec === "string" ? path : [...path, obj.from ? "from" : "name"];
    const value = scope.lookup(from.split("."), this.span(fromPath), obj.type);
    if (!value) return undefined;
    const name = obj.name ?? from.split(".").at(-1)!;
    const problem = cIdentifierProblem(name);
    if (problem) {
      const namePath = obj.name !== undefined && typeof spec !== "string" ? [...path, "name"] : fromPath;
      this.fail("invalid-name", `field name '${name}' cannot be used: ${problem}`, namePath, "give it another name with { name: ..., from: ... }");
      return undefined;
    }
    let type = value.type;
    if (obj.size !== undefined) {
      if (type.kind !== "string") {
        this.fail("invalid-field", `'size' applies to strings, and '${from}' is ${typeName(type)}`, [...path, "size"], "remove 'size'");
      } else if (value.source.kind === "builtin" || (value.source.kind === "tracepoint-field" && value.source.field.access.kind === "char_array")) {
        this.fail("invalid-field", `'${from}' has a fixed size of ${type.size} bytes`, [...path, "size"], "remove 'size'");
      } else {
        type = { kind: "string", size: obj.size };
      }
    }
    return { name, tsName: camelCase(name), type, source: value.source, description: obj.description ?? value.description, span: this.span(fromPath) };
  }

  private checkUniqueFields(fields: IrField[], path: SpecPath): void {
    const seen = new Set<string>();
    fields.forEach((f) => {
      if (seen.has(f.name)) this.bag.add(error("duplicate-field", `two fields are called '${f.name}'`, f.span, "rename one with { name: ..., from: ... }"));
      seen.add(f.name);
    });
    void path;
  }

  // ---- filters ------------------------------------------------------------------------------

  private filter(text: string, path: SpecPath, scope: Scope, fields: IrField[]): IrExpr | undefined {
    let ast: FilterAst;
    try {
      ast = parseFilter(text);
    } catch (e) {
      if (!(e instanceof FilterSyntaxError)) throw e;
      this.bag.add(error("filter-syntax", `filter: ${e.message}`, this.source.spanInScalar(path, e.start, e.end), e.hint));
      return undefined;
    }
    const typed = new FilterTyper(this.source, path, scope, fields).check(ast);
    for (const d of typed.problems) this.bag.add(d);
    if (!typed.expr) return undefined;
    if (typed.expr.type.kind === "string") {
      this.bag.add(error("filter-type", "a filter must be a condition, not a string", typed.expr.span, "compare it: comm == \"bash\""));
      return undefined;
    }
    return typed.expr;
  }

  private assignEventTags(): void {
    for (const map of this.maps.values()) {
      if (map.events.length < 2) continue;
      map.events.forEach((event, i) => {
        event.tag = i + 1;
        event.layout = layoutStruct(event.fields, [{ name: "pg_type", type: u32 }]);
      });
    }
  }

  /** For Scope: report a problem at a span. */
  report(code: string, message: string, span: SourceSpan, hint?: string): void {
    this.bag.add(error(code, message, span, hint));
  }
}

/** The names a program can refer to: builtins, its attach point's arguments, retval. */
class Scope {
  constructor(private readonly attach: AttachPoint, private readonly resolver: Resolver, private readonly path: SpecPath) {
    void this.path;
  }

  names(): string[] {
    const names: string[] = Object.keys(builtins);
    if (this.attach.kind === "tracepoint") names.push(...this.attach.format.fields.map((f) => f.name));
    if (this.attach.kind === "kprobe") for (let i = 0; i < MAX_KPROBE_ARGS; i++) names.push(`arg${i}`);
    if (this.attach.kind === "kretprobe") names.push("retval");
    return names;
  }

  lookup(path: string[], span: SourceSpan, override?: string): { source: ValueSource; type: ScalarOrString; description?: string } | undefined {
    const name = path.join(".");
    const explicitArg = path.length === 2 && path[0] === "args";
    if (path.length === 1 && path[0]! in builtins) {
      const b = builtins[path[0] as Builtin];
      if (override && override !== typeName(b.type) && !(b.type.kind === "int" && parseTypeName(override)?.kind === "int")) {
        this.resolver.report("invalid-type", `'${name}' is ${typeName(b.type)} and cannot be read as ${override}`, span, "remove 'type'");
        return undefined;
      }
      const type = override && b.type.kind === "int" ? (parseTypeName(override) as IntType) : b.type;
      return { source: { kind: "builtin", name: path[0] as Builtin }, type, description: b.description };
    }
    const last = path.at(-1)!;
    if (this.attach.kind === "tracepoint" && (path.length === 1 || explicitArg)) {
      const field = this.attach.format.fields.find((f) => f.name === last);
      if (field) return this.tracepointValue(field, span, override);
    }
    if (this.attach.kind === "kprobe" && path.length === 1 && /^arg[0-4]$/.test(last)) {
      return this.registerValue({ kind: "kprobe-arg", index: Number(last.slice(3)), read: "int" }, span, override, u64);
    }
    if (this.attach.kind === "kretprobe" && name === "retval") {
      return this.registerValue({ kind: "retval" }, span, override, i64);
    }
    this.resolver.report("unknown-name", this.unknownMessage(name), span, this.unknownHint(name));
    return undefined;
  }

  private unknownMessage(name: string): string {
    const where = this.attach.kind === "tracepoint" ? `tracepoint ${this.attach.category}/${this.attach.name}` : `a ${this.attach.kind}`;
    const last = name.split(".").at(-1)!;
    return `'${name}' is not a value of ${where}.${didYouMean(last, this.names())}`;
  }

  private unknownHint(name: string): string {
    if (this.attach.kind === "kretprobe" && /^arg[0-4]$/.test(name)) return "a kretprobe sees only the return value: capture arguments in a kprobe on the same function";
    if (this.attach.kind === "kprobe" && name === "retval") return "the return value is seen by a kretprobe, not a kprobe";
    return `available: ${this.names().join(", ")}`;
  }

  private tracepointValue(field: TracepointField, span: SourceSpan, override?: string) {
    const inferred = defaultFieldType(field, DEFAULT_STRING_SIZE);
    const description = `${field.cType} ${field.name} (tracepoint argument)`;
    if (!override) return { source: { kind: "tracepoint-field" as const, field }, type: inferred, description };
    const access = field.access;
    if (override === "user_string" || override === "kernel_string") {
      if (access.kind !== "user_string" && access.kind !== "kernel_string" && access.kind !== "pointer") {
        this.resolver.report("invalid-type", `'${field.name}' is '${field.cType}', not a pointer, so it cannot be read as a string`, span, "remove 'type'");
        return undefined;
      }
      const readAs = { ...field, access: { kind: override } } as TracepointField;
      return { source: { kind: "tracepoint-field" as const, field: readAs }, type: { kind: "string" as const, size: DEFAULT_STRING_SIZE }, description };
    }
    const scalar = parseTypeName(override) as IntType | BoolType;
    if (access.kind === "data_loc_string" || access.kind === "char_array") {
      this.resolver.report("invalid-type", `'${field.name}' is a string ('${field.cType}') and cannot be read as ${override}`, span, "remove 'type'");
      return undefined;
    }
    // A pointer read as an integer is its address.
    const readAs = access.kind === "int" ? field : ({ ...field, access: { kind: "int", type: u64 } } as TracepointField);
    return { source: { kind: "tracepoint-field" as const, field: readAs }, type: scalar, description };
  }

  private registerValue(source: ValueSource, span: SourceSpan, override: string | undefined, fallback: IntType) {
    if (override === "user_string" || override === "kernel_string") {
      if (source.kind === "retval") {
        this.resolver.report("invalid-type", "a return value cannot be read as a string here", span, "capture it as an integer (i64)");
        return undefined;
      }
      return { source: { ...source, read: override } as ValueSource, type: { kind: "string" as const, size: DEFAULT_STRING_SIZE } };
    }
    const type = override ? (parseTypeName(override) as IntType | BoolType) : fallback;
    return { source, type, description: source.kind === "retval" ? "return value" : `argument ${(source as { index: number }).index}` };
  }
}

class FilterTyper {
  readonly problems: ReturnType<typeof error>[] = [];

  constructor(
    private readonly source: SpecSource,
    private readonly path: SpecPath,
    private readonly scope: Scope,
    private readonly fields: IrField[],
  ) {}

  private at(node: { start: number; end: number }): SourceSpan {
    return this.source.spanInScalar(this.path, node.start, node.end);
  }

  check(ast: FilterAst): { expr?: IrExpr; problems: ReturnType<typeof error>[] } {
    const expr = this.visit(ast);
    return { expr, problems: this.problems };
  }

  private visit(node: FilterAst): IrExpr | undefined {
    const span = this.at(node);
    switch (node.kind) {
      case "int": {
        const type: IntType = node.value <= 0x7fffffffffffffffn ? i64 : u64;
        if (node.value > 0xffffffffffffffffn) return this.problem("filter-type", "number does not fit in 64 bits", span);
        return { kind: "int", value: node.value, type, span };
      }
      case "string":
        return { kind: "string", value: node.value, type: { kind: "string", size: Buffer.byteLength(node.value) + 1 }, span };
      case "name": {
        // A name a field captured means that field's value (with its declared type).
        const captured = node.path.length === 1 ? this.fields.find((f) => f.name === node.path[0] && f.source.kind !== "builtin") : undefined;
        if (captured) return { kind: "value", source: captured.source, type: captured.type, span };
        const value = this.scope.lookup(node.path, span);
        return value ? { kind: "value", source: value.source, type: value.type, span } : undefined;
      }
      case "unary": {
        const operand = this.visit(node.operand);
        if (!operand) return undefined;
        if (operand.type.kind === "string") return this.problem("filter-type", `'${node.op}' needs a number, not a string`, span, "compare the string with == or !=");
        const type: IntType | BoolType = node.op === "!" ? { kind: "bool" } : (operand.type.kind === "int" ? operand.type : i64);
        return { kind: "unary", op: node.op, operand, type, span };
      }
      case "binary": {
        const left = this.visit(node.left);
        const right = this.visit(node.right);
        if (!left || !right) return undefined;
        const ls = left.type.kind === "string";
        const rs = right.type.kind === "string";
        if (ls || rs) {
          if (node.op !== "==" && node.op !== "!=") return this.problem("filter-type", `strings can only be compared with == or !=, not '${node.op}'`, span);
          if (!(ls && rs)) {
            return this.problem("filter-type", `cannot compare a string with a number`, span,
              "compare strings with string literals in quotes, numbers with numbers");
          }
          if (left.kind === "string" && right.kind === "string") return this.problem("filter-type", "comparing two literals is always the same", span, "compare a field with a literal");
          if (left.kind !== "string" && right.kind !== "string") {
            return this.problem("filter-type", "two captured strings cannot be compared with each other yet", span, "compare one of them with a literal in quotes");
          }
          const [value, literal] = left.kind === "string" ? [right, left] : [left, right];
          const capacity = (value.type as { size: number }).size;
          if (Buffer.byteLength((literal as { value: string }).value) >= capacity) {
            return this.problem("filter-type", `the string is longer than '${this.nameOf(value)}' can hold (${capacity - 1} bytes)`, literal.span, "shorten it, or raise the field's size");
          }
          return { kind: "binary", op: node.op, left: value, right: literal, type: { kind: "bool" }, span };
        }
        const logical = node.op === "&&" || node.op === "||";
        const comparison = ["==", "!=", "<", "<=", ">", ">="].includes(node.op);
        const type: IntType | BoolType = logical || comparison ? { kind: "bool" } : widest(left.type, right.type);
        return { kind: "binary", op: node.op, left, right, type, span };
      }
    }
  }

  private nameOf(e: IrExpr): string {
    if (e.kind !== "value") return "the value";
    const s = e.source;
    return s.kind === "builtin" ? s.name : s.kind === "tracepoint-field" ? s.field.name : s.kind === "retval" ? "retval" : `arg${s.index}`;
  }

  private problem(code: string, message: string, span: SourceSpan, hint?: string): undefined {
    this.problems.push(error(code, `filter: ${message}`, span, hint));
    return undefined;
  }
}

function widest(a: ScalarOrString, b: ScalarOrString): IntType {
  const ai = a.kind === "int" ? a : u32;
  const bi = b.kind === "int" ? b : u32;
  return { kind: "int", size: Math.max(ai.size, bi.size) as IntType["size"], signed: ai.signed || bi.signed };
}

const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export function parseSize(size: number | string): number {
  if (typeof size === "number") return size;
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(size)!;
  return Number(m[1]) * units[m[2] ?? "B"]!;
}
