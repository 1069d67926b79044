/**
 * Resolve: a validated spec against the kernel (tracefs formats, kernel symbols) into the typed
 * IR. Every mistake a user can make here becomes a diagnostic at its place in the spec.
 */
import { basename } from "node:path";
import { DiagnosticBag, DiagnosticError, error, type SourceSpan } from "./diagnostics.js";
import { ExprTyper, sourceKey, sourcesIn, updateSources } from "./expr-typer.js";
import type { AttachPoint, IrComposite, IrEvent, IrExpr, IrField, IrMap, IrMapType, IrParam, IrProbe, IrProgram, IrStash, IrUpdate, MapKind, UpdateOp, ValueSource } from "./ir.js";
import type { KernelSymbols } from "./kernel/kallsyms.js";
import { Tracefs } from "./kernel/tracefs.js";
import { layoutStruct } from "./layout.js";
import { camelCase, cIdentifierProblem, pascalCase } from "./names.js";
import type { SpecPath, SpecSource } from "./parse.js";
import type { Btf } from "./btf/index.js";
import { tracepointNames, tracepointProto } from "./btf-values.js";
import { crossCheckFormat } from "./kernel/crosscheck.js";
import { Scope, type BtfUse } from "./scope.js";
import type { FieldSpec, HistogramSpec, MapSpec, ParamSpec, ProbeSpec, ProgramSpec, UpdateSpec, ValueTypeSpec } from "./spec.js";
import { closest, didYouMean } from "./suggest.js";
import { parseTypeName, sizeOf, typeName, u32, u64, type BoolType, type IntType, type ScalarOrString } from "./types.js";

export interface KernelInfo {
  tracefs(): Tracefs | undefined;
  symbols(): KernelSymbols | undefined;
  /** The kernel's types (BTF), for CO-RE paths, typed arguments and fentry/fexit/tp_btf. */
  btf?(): Btf | undefined;
}

const DEFAULT_RINGBUF_SIZE = 256 * 1024;
const DEFAULT_MAX_ENTRIES = 10240;
const LOG2_SLOTS = 64;
const MAX_LINEAR_SLOTS = 1024;

export function resolveProbe(source: SpecSource, spec: ProbeSpec, kernel: KernelInfo): IrProbe {
  return new Resolver(source, spec, kernel).run();
}

class Resolver {
  private readonly bag = new DiagnosticBag();
  private readonly maps = new Map<string, IrMap>();
  private readonly events: IrEvent[] = [];
  private params: IrParam[] = [];
  private usesPtRegs = false;
  private readonly types: BtfUse;
  private loadedBtf?: Btf | null;

  constructor(private readonly source: SpecSource, private readonly spec: ProbeSpec, private readonly kernel: KernelInfo) {
    this.types = { load: () => this.btf(), paths: [], declare: [] };
  }

  /** BTF is read only when a spec needs it (paths, named arguments, fentry...). */
  private btf(): Btf | undefined {
    if (this.loadedBtf === undefined) this.loadedBtf = this.kernel.btf?.() ?? null;
    return this.loadedBtf ?? undefined;
  }

  private span(path: SpecPath, which: "value" | "key" = "value"): SourceSpan {
    return this.source.spanOf(path, which);
  }

  private fail(code: string, message: string, path: SpecPath, hint?: string, which: "value" | "key" = "value"): void {
    this.bag.add(error(code, message, this.span(path, which), hint));
  }

  private readonly report = (code: string, message: string, span: SourceSpan, hint?: string): void => {
    this.bag.add(error(code, message, span, hint));
  };

  run(): IrProbe {
    const name = this.probeName();
    this.params = Object.entries(this.spec.params ?? {}).map(([n, p]) => this.param(n, p)).filter((p): p is IrParam => !!p);
    for (const [mapName, mapSpec] of Object.entries(this.spec.maps ?? {})) this.declareMap(mapName, mapSpec);
    const programs: IrProgram[] = [];
    const usedNames = new Set<string>([...this.maps.keys()]);
    this.spec.programs.forEach((p, i) => programs.push(...this.program(p, ["programs", i], usedNames)));
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
      params: this.params,
      paramsLayout: layoutStruct(this.params.map((p) => ({ name: p.name, type: p.type }))),
      ts: { loader: `load${pascal}`, probe: `${pascal}Probe`, event: `${pascal}Event`, maps: `${pascal}Maps` },
      usesPtRegs: this.usesPtRegs,
      btfTypes: this.loadedBtf && (this.types.paths.length || this.types.declare.length) ? { btf: this.loadedBtf, paths: this.types.paths, declare: this.types.declare } : undefined,
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

  private param(name: string, spec: ParamSpec): IrParam | undefined {
    const path = ["params", name];
    const problem = cIdentifierProblem(name);
    if (problem) {
      this.fail("invalid-name", `parameter name '${name}' cannot be used: ${problem}`, path, "rename it", "key");
      return undefined;
    }
    const type = parseTypeName(spec.type) as IntType | BoolType;
    const raw = spec.default ?? 0;
    const value = typeof raw === "boolean" ? BigInt(raw ? 1 : 0) : BigInt(raw);
    if (type.kind === "bool" && typeof raw !== "boolean" && spec.default !== undefined) {
      this.fail("invalid-param", `the default of a bool parameter is true or false, not ${raw}`, [...path, "default"]);
    } else if (type.kind === "int" && !fits(value, type)) {
      this.fail("invalid-param", `default ${raw} does not fit in ${typeName(type)}`, [...path, "default"], "use a smaller value or a wider type");
    }
    return { name, tsName: camelCase(name), type, default: value, description: spec.description, span: this.span(path, "key") };
  }

  // ---- maps ---------------------------------------------------------------------------------

  private declareMap(name: string, spec: MapSpec): void {
    const path = ["maps", name];
    const problem = cIdentifierProblem(name);
    if (problem) return this.fail("invalid-name", `map name '${name}' cannot be used: ${problem}`, path, "rename the map", "key");
    const kind = spec.type as MapKind;
    const map: IrMap = {
      name, tsName: camelCase(name), kind, description: spec.description, maxEntries: 0, events: [], implicit: false,
      noPrealloc: spec.flags?.includes("no_prealloc"), pinned: spec.pinned, span: this.span(path, "key"),
    };
    if (kind === "ringbuf") {
      for (const extra of ["key", "value", "max_entries", "flags"] as const) {
        if (spec[extra] !== undefined) this.fail("invalid-map", `a ring buffer has no '${extra}'`, [...path, extra], "give its byte size with 'size:'", "key");
      }
      const size = spec.size === undefined ? DEFAULT_RINGBUF_SIZE : parseSize(spec.size);
      if (!Number.isSafeInteger(size) || size < 4096 || size > MAX_RINGBUF_SIZE || !isPowerOfTwo(size)) {
        this.fail("invalid-map", `ring buffer size ${size} is not a power of two from 4 KiB to 2 GiB (the kernel's limit)`, [...path, "size"], "use e.g. 256KiB, 1MiB or 16MiB");
      }
      map.maxEntries = size;
    } else {
      if (spec.size !== undefined) this.fail("invalid-map", `'size' is for ring buffers; a ${kind} map has max_entries`, [...path, "size"], "use max_entries:", "key");
      const isArray = kind === "array" || kind === "percpu_array";
      map.key = spec.key === undefined && isArray ? { scalar: u32, size: 4 } : this.mapType(name, "key", spec.key, [...path, "key"]);
      map.value = this.mapValue(name, spec.value, [...path, "value"]);
      if (isArray && map.key?.scalar && !(map.key.scalar.kind === "int" && map.key.scalar.size === 4)) {
        this.fail("invalid-map", "array maps are indexed by u32", [...path, "key"], "remove 'key:' or set it to u32");
      }
      if (isArray && spec.max_entries === undefined) this.fail("invalid-map", "an array map needs max_entries (its length)", path, "add max_entries:", "key");
      if (isArray && spec.flags?.includes("no_prealloc")) this.fail("invalid-map", "array maps are always preallocated", [...path, "flags"], "remove no_prealloc");
      map.maxEntries = spec.max_entries ?? DEFAULT_MAX_ENTRIES;
    }
    this.maps.set(name, map);
  }

  private mapValue(mapName: string, spec: ValueTypeSpec | HistogramSpec | undefined, path: SpecPath): IrMapType | undefined {
    const cName = `pg_${mapName}_value`;
    if (spec === "hist") return { histogram: { kind: "log2", slots: LOG2_SLOTS, cName }, size: LOG2_SLOTS * 8 };
    if (typeof spec === "object" && spec !== null && "lhist" in spec && typeof spec.lhist === "object") {
      const { min, max, step } = spec.lhist as { min: number; max: number; step: number };
      const slots = Math.ceil((max - min) / step) + 2;
      if (max <= min) {
        this.fail("invalid-map", `lhist needs max (${max}) above min (${min})`, [...path, "lhist"]);
        return undefined;
      }
      if (slots > MAX_LINEAR_SLOTS) {
        this.fail("invalid-map", `lhist would have ${slots} buckets, more than ${MAX_LINEAR_SLOTS}`, [...path, "lhist"], "raise step or narrow min..max");
        return undefined;
      }
      return { histogram: { kind: "linear", min, max, step, slots, cName }, size: slots * 8 };
    }
    return this.mapType(mapName, "value", spec as ValueTypeSpec | undefined, path);
  }

  private mapType(mapName: string, role: "key" | "value", spec: ValueTypeSpec | undefined, path: SpecPath): IrMapType | undefined {
    if (spec === undefined) {
      this.fail("invalid-map", `map '${mapName}' needs a ${role} type`, path.slice(0, -1), `add '${role}: u32' (or another type)`, "key");
      return undefined;
    }
    if (typeof spec === "string") {
      const scalar = parseTypeName(spec)!;
      return { scalar, size: sizeOf(scalar) };
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
    if (name !== undefined && this.declaredButRefused(name)) return undefined;
    if (name !== undefined) {
      this.fail("unknown-map", `no map called '${name}'.${didYouMean(name, Object.keys(this.spec.maps ?? {}))}`, [...path, "output"],
        "declare it under maps: with type: ringbuf, or leave 'output' out");
      return undefined;
    }
    const map: IrMap = { name: "events", tsName: "events", kind: "ringbuf", maxEntries: DEFAULT_RINGBUF_SIZE, events: [], implicit: true, span: this.span(path) };
    this.maps.set("events", map);
    return map;
  }

  // ---- programs -----------------------------------------------------------------------------

  /** One program, or the entry and exit programs of a pair. */
  private program(spec: ProgramSpec, path: SpecPath, usedNames: Set<string>): IrProgram[] {
    const attach = this.attachPoint(spec.attach, [...path, "attach"]);
    if (!attach) return [];
    const exitAttach = spec.exit !== undefined ? this.exitPoint(attach, spec.exit, [...path, "exit"]) : undefined;
    if (spec.exit !== undefined && !exitAttach) return [];
    const name = this.programName(spec, attach, path, usedNames);
    const scope = new Scope(exitAttach ?? attach, this.params, this.report, exitAttach ? attach : undefined, this.types);
    const fields = (spec.fields ?? []).map((f, i) => this.field(f, [...path, "fields", i], scope)).filter((f): f is IrField => !!f);
    this.checkUniqueFields(fields);
    const typer = new ExprTyper(this.source, scope, fields);
    let filter = spec.filter !== undefined ? typer.check(spec.filter, [...path, "filter"]) : undefined;
    if (filter && (filter.type.kind === "string" || filter.type.kind === "array")) {
      this.bag.add(error("filter-type", `a filter must be a condition, not ${filter.type.kind === "string" ? "a string" : "an array"}`, filter.span, "compare it: comm == \"bash\""));
      filter = undefined;
    }
    const updates = (spec.update ?? []).map((u, i) => this.update(u, [...path, "update", i], typer)).filter((u): u is IrUpdate => !!u);
    for (const d of typer.problems) this.bag.add(d);

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
    } else if (!spec.fields?.length && !spec.update?.length) {
      this.fail("no-effect", "this program captures nothing and updates no map", path, "add 'fields:' to emit events, or 'update:' to fill a map");
    }
    const base = { description: spec.description, event, output, updates, span: this.span(path) };
    if (!exitAttach) return [{ name, attach, section: sectionOf(attach), filter, ...base }];
    return this.pair(name, attach, exitAttach, filter, base, path, usedNames);
  }

  /**
   * An entry/exit pair: the entry stashes the entry values the exit uses under the thread id;
   * a filter on entry values alone runs at the entry, so unwanted calls are never stashed.
   */
  private pair(name: string, entry: AttachPoint, exit: AttachPoint, filter: IrExpr | undefined,
    base: Omit<IrProgram, "name" | "attach" | "section" | "filter">, path: SpecPath, used: Set<string>): IrProgram[] {
    const exitOnly = (s: ValueSource) => s.kind === "latency" || s.kind === "errno" || (s.kind !== "stashed" && s.kind !== "builtin" && s.kind !== "param");
    const entryFilter = filter && !sourcesIn(filter).some(exitOnly) ? unstash(filter) : undefined;
    const exitFilter = entryFilter ? undefined : filter;
    const stashed = [
      ...(base.event?.fields.map((f) => f.source) ?? []),
      ...sourcesIn(exitFilter),
      ...base.updates.flatMap(updateSources),
    ].flatMap(stashedIn);
    const members: IrStash["members"] = [];
    for (const s of stashed) {
      const key = sourceKey(s.inner);
      let member = members.find((m) => sourceKey(m.source) === key);
      if (!member) {
        const wanted = s.inner.kind === "tracepoint-field" ? s.inner.field.name : s.inner.kind === "kprobe-arg" ? `arg${s.inner.index}` : `v${members.length}`;
        member = { name: members.some((m) => m.name === wanted) ? `${wanted}_${members.length}` : wanted, source: s.inner, type: stashedType(s, base.event) };
        members.push(member);
      }
      s.member = member.name;
    }
    const cName = `pg_stash_${name}`;
    const layout = layoutStruct(members, [{ name: "pg_ts", type: u64 }]);
    const span = this.span(path);
    const valueType: IrMapType = { struct: { cName, tsName: pascalCase(cName), layout, members: [] }, size: layout.size };
    const stashMap: IrMap = { name: `pg_stash_${name}`.slice(0, 40), tsName: "", kind: "hash", maxEntries: DEFAULT_MAX_ENTRIES, key: { scalar: u32, size: 4 }, value: valueType, events: [], implicit: true, internal: true, span };
    const scratch: IrMap = { name: `pg_scratch_${name}`.slice(0, 40), tsName: "", kind: "percpu_array", maxEntries: 1, key: { scalar: u32, size: 4 }, value: valueType, events: [], implicit: true, internal: true, span };
    this.maps.set(stashMap.name, stashMap);
    this.maps.set(scratch.name, scratch);
    const stash: IrStash = { map: stashMap, scratch, cName, members, layout };
    const exitName = uniqueName(`${name}_exit`, used);
    return [
      { name, attach: entry, section: sectionOf(entry), filter: entryFilter, updates: [], stashes: stash, description: base.description, span },
      { ...base, name: exitName, attach: exit, section: sectionOf(exit), filter: exitFilter, unstashes: stash },
    ];
  }

  private exitPoint(entry: AttachPoint, exit: true | string, path: SpecPath): AttachPoint | undefined {
    if (exit !== true) {
      const point = this.attachPoint(exit, path);
      if (point && (point.kind === "kprobe" || point.kind === "fentry" || point.kind === "tp_btf")) {
        this.fail("invalid-exit", "an exit is a kretprobe, an fexit or a tracepoint", path, point.kind === "tp_btf" ? undefined : `use ${point.kind === "kprobe" ? "kretprobe" : "fexit"}/${point.function}`);
        return undefined;
      }
      return point;
    }
    if (entry.kind === "kprobe") return { kind: "kretprobe", function: entry.function, proto: entry.proto };
    if (entry.kind === "fentry") return { kind: "fexit", function: entry.function, proto: entry.proto };
    if (entry.kind === "tracepoint" && entry.name.startsWith("sys_enter_")) {
      return this.attachPoint(`tracepoint/${entry.category}/sys_exit_${entry.name.slice("sys_enter_".length)}`, path);
    }
    this.fail("invalid-exit", `probegen cannot tell the exit of ${sectionOf(entry)}`, path,
      "name it: exit: tracepoint/CATEGORY/NAME or exit: kretprobe/FUNCTION (exit: true works for kprobes and sys_enter_* tracepoints)");
    return undefined;
  }

  private programName(spec: ProgramSpec, attach: AttachPoint, path: SpecPath, used: Set<string>): string {
    if (spec.name) {
      const problem = cIdentifierProblem(spec.name);
      if (problem) this.fail("invalid-name", `program name '${spec.name}' cannot be used: ${problem}`, [...path, "name"], "rename it");
      if (used.has(spec.name)) this.fail("duplicate-name", `the name '${spec.name}' is already used by a program or map`, [...path, "name"], "give each a different name");
      used.add(spec.name);
      return spec.name;
    }
    const suffix: Partial<Record<AttachPoint["kind"], string>> = { kretprobe: "_ret", fentry: "_entry", fexit: "_exit", tp_btf: "_btf" };
    const base = `${(attach.kind === "tracepoint" || attach.kind === "tp_btf" ? attach.name : attach.function).toLowerCase().replace(/[^a-z0-9_]/g, "_")}${suffix[attach.kind] ?? ""}`;
    return uniqueName(cIdentifierProblem(base) ? `prog_${base.replace(/^_+/, "")}` : base, used);
  }

  private attachPoint(text: string, path: SpecPath): AttachPoint | undefined {
    const [kind, ...rest] = text.split("/");
    if (kind === "tracepoint") {
      const [category, name] = rest as [string, string];
      const tracefs = this.kernel.tracefs();
      if (!tracefs) {
        const { reason, hint } = Tracefs.problem();
        this.fail("no-tracefs", `${reason}, so tracepoint formats cannot be read`, path, hint);
        return undefined;
      }
      const format = tracefs.format(category, name);
      if (!format) {
        const all = tracefs.allNames();
        const near = closest(`${category}/${name}`, all, 3);
        const byName = near.length ? near : all.filter((n) => n.endsWith(`/${name}`)).slice(0, 3);
        this.fail("unknown-tracepoint", `the kernel has no tracepoint '${category}/${name}'.${byName.length ? didYouMean(`${category}/${name}`, byName) || ` Did you mean '${byName[0]}'?` : ""}`,
          path, "list them with: probegen list tracepoints, or ls /sys/kernel/tracing/events/CATEGORY/");
        return undefined;
      }
      const btf = this.btf();
      const mismatches = btf ? crossCheckFormat(btf, format) : [];
      if (mismatches.length > 0) {
        const m = mismatches[0]!;
        this.fail("layout-mismatch", `tracefs and the kernel's BTF disagree about ${category}/${name}: '${m.field}' is at offset ${m.tracefsOffset} in the format but ${m.btfOffset} in struct trace_event_raw_${name}`,
          path, "the tracepoint formats and the BTF come from different kernels: build on the kernel you target, or give its BTF with --btf");
        return undefined;
      }
      return { kind: "tracepoint", category, name, format };
    }
    const func = rest.join("/");
    if (kind === "tp_btf") {
      const btf = this.btf();
      if (!btf) return this.noBtf(kind, path);
      const proto = tracepointProto(btf, func);
      if (!proto) {
        this.fail("unknown-tracepoint", `the kernel has no BTF tracepoint '${func}'.${didYouMean(func, tracepointNames(btf))}`, path, "list them with: probegen list tracepoints");
        return undefined;
      }
      return { kind: "tp_btf", name: func, proto };
    }
    if (kind === "fentry" || kind === "fexit") {
      const btf = this.btf();
      if (!btf) return this.noBtf(kind, path);
      const proto = btf.funcProto(func);
      if (!proto) {
        this.fail("unknown-function", `the kernel's BTF has no function '${func}' to attach ${kind} to.${didYouMean(func, btf.names("func"))}`, path,
          "list them with: probegen list fentry PATTERN");
        return undefined;
      }
      return { kind, function: func, proto };
    }
    const symbols = this.kernel.symbols();
    if (symbols && !symbols.has(func)) {
      this.fail("unknown-function", `the kernel has no function '${func}' to attach a ${kind} to.${didYouMean(func, symbols.names())}`, path,
        "check the name in /proc/kallsyms; static or inlined functions cannot be probed");
      return undefined;
    }
    this.usesPtRegs = true;
    // With BTF, arguments can be named; without it they stay arg0..arg4.
    return { kind: kind as "kprobe" | "kretprobe", function: func, proto: this.btf()?.funcProto(func) };
  }

  private noBtf(kind: string, path: SpecPath): undefined {
    this.fail("no-btf", `${kind} programs need the kernel's BTF, and there is none`, path,
      "build on a kernel with /sys/kernel/btf/vmlinux, or give one with --btf FILE");
    return undefined;
  }

  // ---- fields and updates -------------------------------------------------------------------

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
    if (value.address) {
      this.fail("invalid-field", `'${from}' is a pointer (${value.address}): probegen copies an address into an event only when asked`, fromPath,
        "add 'type: u64' to capture the address itself, or capture what it points to (a member: NAME.MEMBER, or a string: type: kernel_string)");
      return undefined;
    }
    const name = obj.name ?? from.split(".").at(-1)!;
    const problem = cIdentifierProblem(name);
    if (problem) {
      const namePath = obj.name !== undefined && typeof spec !== "string" ? [...path, "name"] : fromPath;
      this.fail("invalid-name", `field name '${name}' cannot be used: ${problem}`, namePath, "give it another name with { name: ..., from: ... }");
      return undefined;
    }
    let type = value.type;
    if (obj.size !== undefined) {
      const inner = value.source.kind === "stashed" ? value.source.inner : value.source;
      if (type.kind !== "string") {
        this.fail("invalid-field", `'size' applies to strings, and '${from}' is ${typeName(type)}`, [...path, "size"], "remove 'size'");
      } else if (inner.kind === "builtin" || (inner.kind === "tracepoint-field" && inner.field.access.kind === "char_array") || (inner.kind === "path" && inner.read === "char_array")) {
        this.fail("invalid-field", `'${from}' has a fixed size of ${type.size} bytes`, [...path, "size"], "remove 'size'");
      } else {
        type = { kind: "string", size: obj.size };
      }
    }
    let asNumber: boolean | undefined;
    if (obj.as !== undefined) {
      if (type.kind !== "int" || type.size !== 8) {
        this.fail("invalid-field", `'as' chooses how a 64-bit integer is read, and '${from}' is ${typeName(type)}`, [...path, "as"],
          type.kind === "int" ? "it is a number already: remove 'as'" : "remove 'as'");
      } else if (obj.as === "number") {
        asNumber = true;
      }
    }
    return { name, tsName: camelCase(name), type, ...(asNumber ? { asNumber } : {}), source: value.source, description: obj.description ?? value.description, span: this.span(fromPath) };
  }

  private checkUniqueFields(fields: IrField[]): void {
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f.name)) this.bag.add(error("duplicate-field", `two fields are called '${f.name}'`, f.span, "rename one with { name: ..., from: ... }"));
      seen.add(f.name);
    }
  }

  /** A map the spec declares whose declaration was refused: its own error says why, once. */
  private declaredButRefused(name: string): boolean {
    return !this.maps.has(name) && Object.hasOwn(this.spec.maps ?? {}, name);
  }

  private update(spec: UpdateSpec, path: SpecPath, typer: ExprTyper): IrUpdate | undefined {
    const map = this.maps.get(spec.map);
    if (!map && this.declaredButRefused(spec.map)) return undefined;
    if (!map || map.internal) {
      this.fail("unknown-map", `no map called '${spec.map}'.${didYouMean(spec.map, Object.keys(this.spec.maps ?? {}))}`, [...path, "map"], "declare it under maps:");
      return undefined;
    }
    if (map.kind === "ringbuf") {
      this.fail("invalid-update", `'${map.name}' is a ring buffer: programs send it events, not updates`, [...path, "map"], "use 'fields:' (and 'output:') to emit events");
      return undefined;
    }
    // A map whose key or value type was refused has said why at its declaration.
    if (!map.value || (!map.key && map.kind !== "array" && map.kind !== "percpu_array")) return undefined;
    const ops = (["count", "sum", "min", "max", "set", "hist", "delete"] as const).filter((op) => spec[op] !== undefined);
    if (ops.length !== 1) {
      this.fail("invalid-update", ops.length ? `an update does one thing, and this one says ${ops.join(" and ")}` : "say what the update does",
        path, "use one of count: true, sum: EXPR, min: EXPR, max: EXPR, set: EXPR, hist: EXPR, delete: true");
      return undefined;
    }
    const op: UpdateOp = ops[0]!;
    const span = this.span(path);
    const condition = spec.if !== undefined ? typer.check(spec.if, [...path, "if"], "if") : undefined;
    if (spec.if !== undefined && (!condition || condition.type.kind === "string" || condition.type.kind === "array")) {
      if (condition) this.bag.add(error("invalid-update", `'if' must be a condition, not ${condition.type.kind === "string" ? "a string" : "an array"}`, condition.span, "compare it: ret < 0"));
      return undefined;
    }
    const unstashedString = condition && stringValues(condition).find((v) => v.source.kind !== "stashed");
    if (unstashedString) {
      this.bag.add(error("invalid-update", "an update's 'if' cannot compare strings read at this point", unstashedString.span,
        "compare strings in the program's filter instead"));
      return undefined;
    }
    const done = (u: IrUpdate | undefined): IrUpdate | undefined => u && (condition ? { ...u, condition } : u);
    const isArray = map.kind === "array" || map.kind === "percpu_array";
    if (spec.key === undefined && !isArray) {
      this.fail("invalid-update", `map '${map.name}' is a ${map.kind}: say which key to update`, path, "add key: EXPR (or one per member of a struct key)");
      return undefined;
    }
    const key = spec.key === undefined ? { kind: "int" as const, value: 0n, type: u32, span } : this.composite(map.key!, spec.key, [...path, "key"], typer, `key of '${map.name}'`);
    if (!key) return undefined;
    const value = map.value;
    const scalarValue = (expr: IrExpr | undefined, what: string) => {
      if (expr && (expr.type.kind === "string" || expr.type.kind === "array")) {
        this.bag.add(error("invalid-update", `${what} needs a number, and this is ${expr.type.kind === "string" ? "a string" : `an array (${typeName(expr.type)})`}`, expr.span));
        return undefined;
      }
      return expr;
    };
    switch (op) {
      case "count": case "sum": case "min": case "max": {
        if (!value.scalar || value.scalar.kind !== "int") {
          this.fail("invalid-update", `${op} needs a map whose value is an integer, and '${map.name}' holds ${describeValue(value)}`, [...path, op], "declare value: u64");
          return undefined;
        }
        if (op === "count") return done({ map, op, key, span });
        const expr = scalarValue(typer.check(spec[op]!, [...path, op], op), op);
        return done(expr && { map, op, key, value: expr, span });
      }
      case "hist": {
        if (!value.histogram) {
          this.fail("invalid-update", `hist needs a map whose value is a histogram, and '${map.name}' holds ${describeValue(value)}`, [...path, "hist"], "declare value: hist, or value: { lhist: { min, max, step } }");
          return undefined;
        }
        const expr = scalarValue(typer.check(spec.hist!, [...path, "hist"], "hist"), "hist");
        return done(expr && { map, op, key, value: expr, span });
      }
      case "set": {
        if (value.histogram) {
          this.fail("invalid-update", `'${map.name}' holds a histogram: add to it with hist:`, [...path, "set"]);
          return undefined;
        }
        const v = this.composite(value, spec.set!, [...path, "set"], typer, `value of '${map.name}'`);
        return done(v && { map, op, key, value: v, span });
      }
      case "delete":
        if (isArray) {
          this.fail("invalid-update", "array map entries cannot be deleted", [...path, "delete"], "set them to zero instead");
          return undefined;
        }
        return done({ map, op, key, span });
    }
  }

  /** A key or value: one expression, or one per struct member (every member named). */
  private composite(type: IrMapType, spec: string | number | Record<string, string | number>, path: SpecPath, typer: ExprTyper, what: string): IrComposite | undefined {
    if (type.struct) {
      const members = type.struct.members;
      if (typeof spec !== "object") {
        this.fail("invalid-update", `the ${what} is a struct: give one value per member`, path, `e.g. { ${members.map((m) => `${m.name}: ...`).join(", ")} }`);
        return undefined;
      }
      const out: Array<{ member: string; expr: IrExpr }> = [];
      for (const m of members) {
        if (!(m.name in spec)) this.fail("invalid-update", `the ${what} needs '${m.name}'`, path, `add ${m.name}: EXPR`);
      }
      for (const [member, text] of Object.entries(spec)) {
        const m = members.find((x) => x.name === member);
        if (!m) {
          this.fail("invalid-update", `the ${what} has no member '${member}'.${didYouMean(member, members.map((x) => x.name))}`, [...path, member], undefined, "key");
          continue;
        }
        const expr = typer.check(text, [...path, member], "value");
        if (expr && this.assignable(expr, m.type)) out.push({ member, expr });
      }
      return out.length === members.length ? out : undefined;
    }
    if (typeof spec === "object") {
      this.fail("invalid-update", `the ${what} is ${describeValue(type)}, not a struct`, path, "give a single expression");
      return undefined;
    }
    const expr = typer.check(spec, path, "value");
    return expr && type.scalar && this.assignable(expr, type.scalar) ? expr : undefined;
  }

  private assignable(expr: IrExpr, to: ScalarOrString): boolean {
    if (expr.type.kind === "array" || to.kind === "array") {
      // Arrays are copied whole: the same bytes, from a captured value.
      if (expr.kind !== "value" || expr.type.kind !== "array" || to.kind !== "array" || sizeOf(expr.type) !== sizeOf(to)) {
        this.bag.add(error("invalid-update", `cannot store ${expr.kind === "value" ? typeName(expr.type) : "a number"} in ${typeName(to)}`, expr.span,
          to.kind === "array" ? `give a captured array of ${sizeOf(to)} bytes, such as a tracepoint's address field` : "declare the map with an array type, e.g. u8[16]"));
        return false;
      }
      return true;
    }
    const fromString = expr.type.kind === "string";
    if (fromString !== (to.kind === "string")) {
      this.bag.add(error("invalid-update", `cannot store ${fromString ? "a string" : "a number"} in ${typeName(to)}`, expr.span));
      return false;
    }
    if (fromString && expr.kind !== "value") {
      this.bag.add(error("invalid-update", "a string here must be a captured value such as comm or filename", expr.span));
      return false;
    }
    if (!fromString && stringValues(expr).length > 0) {
      this.bag.add(error("invalid-update", "map keys and values cannot compare strings", expr.span,
        "compare strings in the program's filter, or use the string itself as the key (key: comm)"));
      return false;
    }
    return true;
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
}

function sectionOf(a: AttachPoint): string {
  if (a.kind === "tracepoint") return `tracepoint/${a.category}/${a.name}`;
  if (a.kind === "tp_btf") return `tp_btf/${a.name}`;
  return `${a.kind}/${a.function}`;
}


function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
  used.add(name);
  return name;
}

function stringValues(e: IrExpr): Array<IrExpr & { kind: "value" }> {
  switch (e.kind) {
    case "value": return e.type.kind === "string" ? [e] : [];
    case "unary": return stringValues(e.operand);
    case "binary": return [...stringValues(e.left), ...stringValues(e.right)];
    default: return [];
  }
}


/** The stashed sources inside a source (errno wraps ret, which may itself come from the entry). */
function stashedIn(s: ValueSource): Array<ValueSource & { kind: "stashed" }> {
  if (s.kind === "stashed") return [s];
  if (s.kind === "errno") return stashedIn(s.ret);
  return [];
}

/** The type a stashed value is kept as: the field's (strings sized as the event wants), or its own. */
function stashedType(s: ValueSource & { kind: "stashed" }, event: IrEvent | undefined): ScalarOrString {
  const field = event?.fields.find((f) => f.source === s);
  if (field) return field.type;
  const inner = s.inner;
  if (inner.kind === "tracepoint-field") {
    const a = inner.field.access;
    if (a.kind === "int") return a.type;
    if (a.kind === "char_array") return { kind: "string", size: a.length };
    if (a.kind === "pointer") return u64;
    if (a.kind === "array") return a.type;
    return { kind: "string", size: 256 };
  }
  if (inner.kind === "kprobe-arg") return inner.read === "int" ? u64 : { kind: "string", size: 256 };
  if (inner.kind === "path") {
    if (inner.read === "char_array" && inner.capture.kind === "char_array") return { kind: "string", size: inner.capture.length };
    if (inner.read === "kernel_string" || inner.read === "user_string") return { kind: "string", size: 256 };
    if (inner.capture.kind === "int") return { kind: "int", size: inner.capture.size as 1 | 2 | 4 | 8, signed: inner.capture.signed };
    if (inner.capture.kind === "array") return { kind: "array", element: { kind: "int", size: inner.capture.elementSize, signed: inner.capture.signed }, length: inner.capture.length };
  }
  return u64;
}

/** The same expression read at the entry: stashed values become the values themselves. */
function unstash(e: IrExpr): IrExpr {
  switch (e.kind) {
    case "value": return e.source.kind === "stashed" ? { ...e, source: e.source.inner } : e;
    case "unary": return { ...e, operand: unstash(e.operand) };
    case "binary": return { ...e, left: unstash(e.left), right: unstash(e.right) };
    default: return e;
  }
}

function describeValue(t: IrMapType): string {
  if (t.histogram) return "a histogram";
  if (t.struct) return "a struct";
  return typeName(t.scalar!);
}

function fits(value: bigint, type: IntType): boolean {
  const bits = BigInt(type.size * 8);
  return type.signed ? value >= -(1n << (bits - 1n)) && value < 1n << (bits - 1n) : value >= 0n && value < 1n << bits;
}

const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** The largest ring the kernel creates: its size is a 32-bit max_entries. */
const MAX_RINGBUF_SIZE = 2 ** 31;

/** Exact for any safe integer (a 32-bit `&` is not: 2^32 + 4096 passed it). */
function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

export function parseSize(size: number | string): number {
  if (typeof size === "number") return size;
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(size)!;
  return Number(m[1]) * units[m[2] ?? "B"]!;
}
