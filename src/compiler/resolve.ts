/**
 * Resolve: a validated spec against the kernel (tracefs formats, kernel symbols) into the typed
 * IR. Every mistake a user can make here becomes a diagnostic at its place in the spec.
 */
import { basename } from "node:path";
import { DiagnosticBag, DiagnosticError, error, type Diagnostic, type SourceSpan } from "./diagnostics.js";
import { ExprTyper, type MapReader } from "./expr-typer.js";
import { sourcesIn, stringValues, type AttachPoint, type IrAction, type IrComposite, type IrEvent, type IrExpr, type IrField, type IrMap, type IrMapType, type IrParam, type IrStructMember, type IrUpdate, type MapKind, isSocketMap, type ResolvedProbe, type ResolvedProgram } from "./ir.js";
import type { KernelInfo } from "../kernel/index.js";
import { attachKind, expandAttach, MAX_MATCHES, resolveAttach, resolveExit, type AttachContext } from "./attach/index.js";
import { checkNames, cIdentifierProblem, cNames, mapTsNames, probeTsNames, tsNames, uniqueName } from "./names.js";
import type { SpecPath, SpecSource } from "./parse.js";
import type { Btf } from "../kernel/btf/index.js";
import { Scope, type BtfUse, type ResolvedValue } from "./scope.js";
import type { FieldSpec, HistogramSpec, MapSpec, ParamSpec, ProbeSpec, ProgramSpec, UpdateSpec, ValueTypeSpec } from "./spec.js";
import { didYouMean } from "./suggest.js";
import { constantOf, describeRange, fits, intRange, integerText, rangeText, safeIntegers } from "./constants.js";
import { arrayFits, arraySourceText, parseTypeName, typeName, u32, u64, type BoolType, type IntType, type ScalarOrString, type StringListType, type StringType } from "./types.js";
import { automaticDecoder, requestedDecoder, sameDecoder, type DecoderName, type IrDecoder, type SymbolTable } from "./decode.js";
import type { ValueSource } from "./ir.js";
import { guardPresence, type PacketSource } from "./packet.js";
import { resolveMetrics } from "./metrics.js";

export type { KernelInfo };

// Resolve's nodes: no layouts yet (lower.ts lays every struct out).
type RMap = IrMap<undefined>;
type REvent = IrEvent<undefined>;
type RMapType = IrMapType<undefined>;
type RUpdate = IrUpdate<undefined>;
type RComposite = IrComposite<undefined>;

const DEFAULT_RINGBUF_SIZE = 256 * 1024;
/** The ring buffer events go to when a program names none: created unless the spec declares it. */
const DEFAULT_RING = "events";
const DEFAULT_MAX_ENTRIES = 10240;
const LOG2_SLOTS = 64;
const MAX_LINEAR_SLOTS = 1024;
/** A string parameter is compared on the 512-byte BPF stack: its bytes, and as many of the other string. */
const MAX_STRING_PARAM = 256;
/** A list of strings (argv) is read into each event: 16 KiB is 128 strings of 128 bytes. */
const MAX_LIST_BYTES = 16 * 1024;

/** Binds the spec's names and checks them against the kernel; lower.ts then makes the IR the emitters read. */
export function resolveProbe(source: SpecSource, spec: ProbeSpec, kernel: KernelInfo): ResolvedProbe {
  return new Resolver(source, spec, kernel).run();
}

class Resolver {
  private bag = new DiagnosticBag();
  /** Every program's attach points, in the order first seen: `probe` is an index into it. */
  private readonly attachNames: string[] = [];
  /** What `probe` reads as in TS: the attach points by index, filled as programs are resolved. */
  private readonly attachTable: SymbolTable = { tsName: "AttachPoint", origin: "the attach points of this probe's programs", entries: [] };
  private readonly maps = new Map<string, RMap>();
  private readonly events: REvent[] = [];
  private params: IrParam[] = [];
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

  /**
   * The integer a YAML number at `path` spells, exactly, if `type` holds it; else a diagnostic
   * naming the range (never a float: YAML reads 2^64 + 1 as 2^64, and 1e400 as Infinity).
   */
  private integer(path: SpecPath, type: IntType | "safe", what: string): bigint | undefined {
    const value = this.source.integerAt(path);
    const [range, allowed] = type === "safe" ? [safeIntegers, describeRange("a JS number", safeIntegers)] : [intRange(type), rangeText(type)];
    if (value === undefined) {
      this.fail("invalid-number", `${what} must be a whole number, not ${this.source.textAt(path) ?? "this"}`, path, "write an integer in digits");
    } else if (value < range.min || value > range.max) {
      this.fail("invalid-number", `${what} ${integerText(value)} does not fit in ${allowed}`, path, "use a number in that range");
    } else {
      return value;
    }
    return undefined;
  }

  private readonly report = (code: string, message: string, span: SourceSpan, hint?: string): void => {
    this.bag.add(error(code, message, span, hint));
  };

  run(): ResolvedProbe {
    const name = this.probeName();
    this.params = Object.entries(this.spec.params ?? {}).map(([n, p]) => this.param(n, p)).filter((p): p is IrParam => !!p);
    for (const [mapName, mapSpec] of Object.entries(this.spec.maps ?? {})) this.declareMap(mapName, mapSpec);
    // The names the spec gives are taken first: a default or exit name (`x_exit`) makes way for them.
    const usedNames = new Set<string>([...this.maps.keys(), ...this.spec.programs.flatMap((p) => (p.name ? [p.name] : []))]);
    const namedPrograms = new Set<string>();
    const programs = this.spec.programs.flatMap((p, i) => this.program(p, ["programs", i], usedNames, namedPrograms) ?? []);
    this.checkExclusive(programs);
    this.emptyUntilSet(programs);
    for (const [mapName, mapSpec] of Object.entries(this.spec.maps ?? {})) this.decodeMap(mapName, mapSpec, programs);
    resolveMetrics({ probe: name, fail: (...a) => this.fail(...a), span: (path, which) => this.span(path, which) }, this.spec.maps ?? {}, this.maps, programs.flatMap((p) => p.updates));
    // Each ring's TS names avoid the events' interfaces (an event may be named like the probe).
    const eventTypes = new Set(this.events.map((e) => e.tsName));
    for (const m of this.maps.values()) m.ts = mapTsNames(name, m.name, eventTypes);
    const probe: ResolvedProbe = {
      name,
      source: this.source.file,
      description: this.spec.description,
      license: this.spec.license ?? "GPL",
      programs,
      maps: [...this.maps.values()],
      events: this.events,
      params: this.params,
      ...(this.namesProbe() ? { attachPoints: this.attachNames } : {}),
      ts: probeTsNames(name, eventTypes),
      btfTypes: this.loadedBtf && (this.types.paths.length || this.types.declare.length) ? { btf: this.loadedBtf, paths: this.types.paths, declare: this.types.declare } : undefined,
    };
    checkNames(probe, this.span(this.spec.name ? ["name"] : []), (message, span, hint) => this.report("name-collision", message, span, hint));
    this.bag.throwIfErrors();
    return probe;
  }

  /**
   * Whether TS reads `probe` anywhere (an event field, a map key): then the loader exports the
   * attach points' names. A key filled with `probe` must be wide enough to number them all.
   */
  private namesProbe(): boolean {
    const readsProbe = (d: IrDecoder | undefined) => d?.kind === "symbolic" && d.table === this.attachTable;
    let named = this.events.some((e) => e.fields.some((f) => readsProbe(f.decode)));
    for (const map of this.maps.values()) {
      const key = map.key;
      if (key?.kind === "struct") named ||= key.struct.members.some((m) => readsProbe(m.decode));
      if (key?.kind !== "scalar" || !readsProbe(key.decode)) continue;
      named = true;
      if (key.scalar.kind === "int" && key.scalar.size < 4 && this.attachNames.length > Number(intRange(key.scalar).max) + 1) {
        this.bag.add(error("invalid-map", `map '${map.name}' is keyed by probe, and its ${typeName(key.scalar)} key cannot number the probe's ${this.attachNames.length} attach points`, map.span, "declare key: u32"));
      }
    }
    return named;
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
    const type = parseTypeName(spec.type) as IntType | BoolType | StringType;
    const span = this.span(path, "key");
    if (type.kind === "string") return this.stringParam(name, type, spec, path, span);
    const raw = spec.default ?? 0;
    let value = 0n;
    if (typeof raw === "string") {
      this.fail("invalid-param", `the default of a ${typeName(type)} parameter is ${type.kind === "bool" ? "true or false" : "a number"}, not a string`, [...path, "default"],
        type.kind === "bool" ? "write true or false, unquoted" : "write a number, unquoted");
    } else if (typeof raw === "boolean") {
      value = raw ? 1n : 0n;
      if (type.kind === "int") this.fail("invalid-param", `the default of a ${typeName(type)} parameter is a number, not ${raw}`, [...path, "default"]);
    } else if (type.kind === "bool") {
      if (spec.default !== undefined) this.fail("invalid-param", `the default of a bool parameter is true or false, not ${this.source.textAt([...path, "default"]) ?? raw}`, [...path, "default"]);
    } else {
      value = spec.default === undefined ? 0n : this.integer([...path, "default"], type, "the default") ?? 0n;
    }
    return { name, tsName: tsNames.property(name), type, default: value, description: spec.description, span };
  }

  /** A `string[N]` parameter: its default (the empty string unless given) must leave room for the NUL. */
  private stringParam(name: string, type: StringType, spec: ParamSpec, path: SpecPath, span: SourceSpan): IrParam | undefined {
    if (type.size > MAX_STRING_PARAM) {
      this.fail("invalid-param", `a string parameter holds at most ${MAX_STRING_PARAM} bytes, and this one asks for ${type.size}`, [...path, "type"],
        `use string[${MAX_STRING_PARAM}] or less (comm is string[16])`);
      return undefined;
    }
    const raw = spec.default ?? "";
    if (typeof raw !== "string") {
      this.fail("invalid-param", `the default of a ${typeName(type)} parameter is a string, not ${this.source.textAt([...path, "default"]) ?? raw}`, [...path, "default"],
        `quote it: default: "${raw}"`);
      return undefined;
    }
    const bytes = Buffer.byteLength(raw, "utf8");
    if (bytes > type.size - 1) {
      this.fail("invalid-param", `the default "${raw}" takes ${bytes} UTF-8 bytes, and a ${typeName(type)} parameter holds at most ${type.size - 1} (and the terminating NUL)`,
        [...path, "default"], `shorten it, or declare type: "string[${bytes + 1}]"`);
      return undefined;
    }
    if (raw.includes("\0")) {
      this.fail("invalid-param", "the default contains a NUL character, where the string would end", [...path, "default"], "remove it");
      return undefined;
    }
    return { name, tsName: tsNames.property(name), type, default: raw, description: spec.description, span };
  }

  // ---- maps ---------------------------------------------------------------------------------

  private declareMap(name: string, spec: MapSpec): void {
    const path = ["maps", name];
    const problem = cIdentifierProblem(name);
    if (problem) return this.fail("invalid-name", `map name '${name}' cannot be used: ${problem}`, path, "rename the map", "key");
    // No type and no key: one value, an array map of one entry (per-CPU when it says so).
    const keyless = spec.key === undefined && (spec.type === undefined || (isArrayKind(spec.type) && spec.max_entries === undefined));
    if (spec.type === undefined && spec.key !== undefined) {
      return this.fail("invalid-map", `map '${name}' has a key: say its type`, path, "add 'type: hash' (or lru_hash, array...), or remove 'key:' for a map of one value", "key");
    }
    const kind = (spec.type ?? "array") as MapKind;
    const map: RMap = {
      name, tsName: tsNames.property(name), kind, description: spec.description, maxEntries: 0, events: [], implicit: false,
      noPrealloc: spec.flags?.includes("no_prealloc"), pinned: spec.pinned, span: this.span(path, "key"),
    };
    if (kind === "ringbuf") {
      for (const extra of ["key", "value", "max_entries", "flags"] as const) {
        if (spec[extra] !== undefined) this.fail("invalid-map", `a ring buffer has no '${extra}'`, [...path, extra], "give its byte size with 'size:'", "key");
      }
      const size = spec.size === undefined ? BigInt(DEFAULT_RINGBUF_SIZE) : parseSize(spec.size, this.source.integerAt([...path, "size"]));
      if (size === undefined || size < 4096n || size > MAX_RINGBUF_SIZE || !isPowerOfTwo(size)) {
        const shown = size === undefined ? this.source.textAt([...path, "size"]) ?? String(spec.size) : integerText(size);
        this.fail("invalid-map", `ring buffer size ${shown} is not a power of two from 4 KiB to 2 GiB (the kernel's limit)`, [...path, "size"], "use e.g. 256KiB, 1MiB or 16MiB");
      }
      map.maxEntries = Number(size ?? 0);
    } else if (isSocketMap(kind)) {
      this.declareSocketMap(map, spec, path);
    } else {
      if (spec.size !== undefined) this.fail("invalid-map", `'size' is for ring buffers; a ${kind} map has max_entries`, [...path, "size"], "use max_entries:", "key");
      const isArray = isArrayKind(kind);
      if (spec.key === undefined && !isArray) {
        return this.fail("invalid-map", `map '${name}' is a ${kind}: it needs a key type`, path,
          `add 'key: u32' (or another type), or remove 'type: ${kind}' for a map of one value${kind.includes("percpu") ? " (type: percpu_array, without max_entries, for one value per CPU)" : ""}`, "key");
      }
      map.key = spec.key === undefined && isArray ? { kind: "scalar", scalar: u32 } : this.mapType(name, "key", spec.key, [...path, "key"]);
      map.value = this.mapValue(name, spec.value, [...path, "value"]);
      if (isArray && map.key?.kind === "scalar" && !(map.key.scalar.kind === "int" && map.key.scalar.size === 4)) {
        this.fail("invalid-map", "array maps are indexed by u32", [...path, "key"], "remove 'key:' or set it to u32");
      }
      if (isArray && spec.flags?.includes("no_prealloc")) this.fail("invalid-map", "array maps are always preallocated", [...path, "flags"], "remove no_prealloc");
      map.maxEntries = spec.max_entries ?? DEFAULT_MAX_ENTRIES;
      if (keyless) {
        map.keyless = true;
        map.maxEntries = 1;
      }
    }
    this.maps.set(name, map);
  }

  /**
   * A sockmap (indexed by u32, like an array) or a sockhash (a declared key): its values are
   * sockets that TS adds, and read back as their cookies (u64), which is the value the kernel
   * shows user space when the value is 8 bytes.
   */
  private declareSocketMap(map: RMap, spec: MapSpec, path: SpecPath): void {
    const kind = map.kind as "sockmap" | "sockhash";
    for (const extra of ["value", "size", "decode", "flags"] as const) {
      if (spec[extra] !== undefined) {
        this.fail("invalid-map", `a ${kind} has no '${extra}': its values are sockets, which TypeScript adds (probe.maps.${map.tsName}.add(key, socket))`, [...path, extra],
          `remove '${extra}'`, "key");
      }
    }
    if (kind === "sockhash") {
      if (spec.key === undefined) {
        this.fail("invalid-map", `map '${map.name}' is a sockhash: it needs a key type`, path, "add 'key: u32' (or another type), or use type: sockmap (indexed by u32)", "key");
        return;
      }
      map.key = this.mapType(map.name, "key", spec.key, [...path, "key"]);
    } else {
      map.key = spec.key === undefined ? { kind: "scalar", scalar: u32 } : this.mapType(map.name, "key", spec.key, [...path, "key"]);
      if (map.key && !(map.key.kind === "scalar" && map.key.scalar.kind === "int" && map.key.scalar.size === 4 && !map.key.scalar.signed)) {
        this.fail("invalid-map", "a sockmap is indexed by u32", [...path, "key"], "remove 'key:' (or use type: sockhash for another key)");
      }
    }
    map.value = { kind: "scalar", scalar: u64 };
    map.maxEntries = spec.max_entries ?? DEFAULT_MAX_ENTRIES;
  }

  /**
   * A one-value map kept by min or max starts empty, not at 0 (bpftrace's min() is the smallest
   * value seen, not 0): it is a hash map of one entry, absent until a program stores one.
   */
  private emptyUntilSet(programs: ResolvedProgram[]): void {
    for (const u of programs.flatMap((p) => p.updates)) {
      if (!u.map.keyless || (u.op !== "min" && u.op !== "max")) continue;
      if (u.map.kind === "array") u.map.kind = "hash";
      if (u.map.kind === "percpu_array") u.map.kind = "percpu_hash";
    }
  }

  private mapValue(mapName: string, spec: ValueTypeSpec | HistogramSpec | undefined, path: SpecPath): RMapType | undefined {
    const cName = cNames.histogram(mapName);
    if (spec === "hist") return { kind: "histogram", histogram: { kind: "log2", slots: LOG2_SLOTS, cName } };
    if (typeof spec === "object" && spec !== null && "lhist" in spec && typeof spec.lhist === "object") {
      // Bucket bounds are JS numbers in the loader (and i64s in the program).
      const bound = (which: "min" | "max" | "step") => this.integer([...path, "lhist", which], "safe", `lhist ${which}`);
      const [min, max, step] = [bound("min"), bound("max"), bound("step")];
      if (min === undefined || max === undefined || step === undefined) return undefined;
      if (max <= min) {
        this.fail("invalid-map", `lhist needs max (${max}) above min (${min})`, [...path, "lhist"]);
        return undefined;
      }
      const slots = (max - min + step - 1n) / step + 2n;
      if (slots > BigInt(MAX_LINEAR_SLOTS)) {
        this.fail("invalid-map", `lhist would have ${integerText(slots)} buckets, more than ${MAX_LINEAR_SLOTS}`, [...path, "lhist"], "raise step or narrow min..max");
        return undefined;
      }
      return { kind: "histogram", histogram: { kind: "linear", min: Number(min), max: Number(max), step: Number(step), slots: Number(slots), cName } };
    }
    return this.mapType(mapName, "value", spec as ValueTypeSpec | undefined, path);
  }

  private mapType(mapName: string, role: "key" | "value", spec: ValueTypeSpec | undefined, path: SpecPath): RMapType | undefined {
    if (spec === undefined) {
      this.fail("invalid-map", `map '${mapName}' needs a ${role} type`, path.slice(0, -1), `add '${role}: u32' (or another type)`, "key");
      return undefined;
    }
    if (typeof spec === "string") {
      return { kind: "scalar", scalar: parseTypeName(spec)! };
    }
    const members = Object.entries(spec).map(([name, t]) => {
      const problem = cIdentifierProblem(name);
      if (problem) this.fail("invalid-name", `member name '${name}' cannot be used: ${problem}`, [...path, name], "rename it", "key");
      return { name, tsName: tsNames.property(name), type: parseTypeName(t)!, span: this.span([...path, name], "key") };
    });
    return { kind: "struct", struct: { cName: cNames.mapStruct(mapName, role), tsName: tsNames.mapStruct(mapName, role), members, layout: undefined } };
  }

  private outputMap(name: string | undefined, path: SpecPath): RMap | undefined {
    const mapName = name ?? DEFAULT_RING;
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
    // `output: events` names the default ring buffer, created when no map of that name is declared.
    if (name !== undefined && name !== DEFAULT_RING) {
      this.fail("unknown-map", `no map called '${name}'.${didYouMean(name, Object.keys(this.spec.maps ?? {}))}`, [...path, "output"],
        "declare it under maps: with type: ringbuf, or leave 'output' out");
      return undefined;
    }
    const map: RMap = { name: DEFAULT_RING, tsName: tsNames.property(DEFAULT_RING), kind: "ringbuf", maxEntries: DEFAULT_RINGBUF_SIZE, events: [], implicit: true, span: this.span(path) };
    this.maps.set(DEFAULT_RING, map);
    return map;
  }

  // ---- programs -----------------------------------------------------------------------------

  /**
   * The programs of one spec entry: one, an entry/exit pair (still one: lower.ts splits it), or
   * one per match of its attach pattern, all from the same body.
   */
  private program(spec: ProgramSpec, path: SpecPath, usedNames: Set<string>, namedPrograms: Set<string>): ResolvedProgram[] | undefined {
    const points = this.attachPoints(spec.attach, [...path, "attach"]);
    if (!points) return undefined;
    const matches = new Map(points.map((p) => [sectionOf(p), this.attachIndex(sectionOf(p))]));
    if (points.length === 1) {
      const one = this.single(spec, path, points[0]!, matches, usedNames, namedPrograms);
      return one && [one];
    }
    if (spec.exit !== undefined) {
      this.fail("invalid-exit", `'exit:' pairs one attach point with its return, and this program attaches to ${points.length}`, [...path, "exit"],
        "write one program per pair, or remove 'exit:'");
      return undefined;
    }
    return this.perMatch(spec, path, points, matches, usedNames, namedPrograms);
  }

  /** Two programs where the kernel keeps one (an sk_msg map's verdict): the second would replace the first. */
  private checkExclusive(programs: ResolvedProgram[]): void {
    const first = new Map<string, ResolvedProgram>();
    for (const p of programs) {
      if (!attachKind(p.attach).exclusive) continue;
      const target = attachKind(p.attach).title(p.attach);
      const other = first.get(target);
      if (!other) first.set(target, p);
      else this.bag.add(error("duplicate-attach", `programs '${other.name}' and '${p.name}' are both the ${target}, and the kernel keeps one: the second would replace the first`, p.span, "merge them into one program"));
    }
  }

  /** What a spec entry attaches to: its pattern (or list of patterns) expanded and resolved, sorted. */
  private attachPoints(attach: string | string[], path: SpecPath): AttachPoint[] | undefined {
    const items: Array<[string, SpecPath]> = typeof attach === "string" ? [[attach, path]] : attach.map((a, i) => [a, [...path, i]]);
    const points = new Map<string, AttachPoint>();
    let failed = false;
    for (const [text, at] of items) {
      const ctx = this.attachContext(at);
      const matches = expandAttach(text, ctx);
      if (!matches) failed = true;
      for (const match of matches ?? []) {
        const point = resolveAttach(match, ctx);
        // Sections name most points; the title tells apart those that share one (sk_msg/a, sk_msg/b).
        if (point) points.set(`${sectionOf(point)}\0${attachKind(point).title(point)}`, point);
        else failed = true;
      }
    }
    if (failed) return undefined;
    if (points.size > MAX_MATCHES) {
      this.fail("too-many-matches", `this program attaches to ${points.size} attach points; one program attaches to at most ${MAX_MATCHES}`, path, "narrow the patterns");
      return undefined;
    }
    return [...points.keys()].sort().map((k) => points.get(k)!);
  }

  /** An attach point's index in the probe's list of them: what `probe` reads in C. */
  private attachIndex(section: string): number {
    const at = this.attachNames.indexOf(section);
    if (at >= 0) return at;
    this.attachTable.entries.push({ value: BigInt(this.attachNames.length), name: section });
    return this.attachNames.push(section) - 1;
  }

  /** A program with one attach point (and maybe its exit). */
  private single(spec: ProgramSpec, path: SpecPath, attach: AttachPoint, matches: ReadonlyMap<string, number>, usedNames: Set<string>, namedPrograms: Set<string>): ResolvedProgram | undefined {
    const exitAttach = spec.exit !== undefined ? resolveExit(attach, spec.exit, this.attachContext([...path, "exit"])) : undefined;
    if (spec.exit !== undefined && !exitAttach) return undefined;
    const name = this.programName(spec, attach, path, usedNames, namedPrograms);
    const { fields, filter, updates, actions } = this.body(spec, path, attach, exitAttach, matches);
    const { event, output } = this.programEvent(spec, path, spec.event ?? name, fields);
    const program: ResolvedProgram = { name, attach, section: sectionOf(attach), description: spec.description, filter, event, output, updates, ...(actions ? { actions } : {}), span: this.span(path) };
    if (!exitAttach) return program;
    return { ...program, exit: { attach: exitAttach, section: sectionOf(exitAttach), name: uniqueName(cNames.exitProgram(name), usedNames) } };
  }

  /**
   * One program per match of a pattern, each with the body resolved against its own attach
   * point; they share one event type, whose fields take a type every match's value fits.
   */
  private perMatch(spec: ProgramSpec, path: SpecPath, points: AttachPoint[], matches: ReadonlyMap<string, number>, usedNames: Set<string>, namedPrograms: Set<string>): ResolvedProgram[] | undefined {
    const bodies = this.forEachMatch(points, (attach) => this.body(spec, path, attach, undefined, matches));
    if (!bodies) return undefined;
    const fields = this.commonFields(bodies.map((b) => b.fields), points);
    if (!fields) return undefined;
    const base = spec.name ? this.programName(spec, points[0]!, path, usedNames, namedPrograms) : undefined;
    const eventName = spec.event ?? base ?? this.patternEventName(spec.attach, path);
    if (eventName === undefined) return undefined;
    const { event, output } = this.programEvent(spec, path, eventName, fields);
    return points.map((attach, i): ResolvedProgram => {
      const own = attachKind(attach).programName(attach);
      const name = uniqueName(cNames.program(base ? `${base}_${own}` : own), usedNames);
      const body = bodies[i]!;
      return {
        name, attach, section: sectionOf(attach), description: spec.description, filter: body.filter, event, output, updates: body.updates, span: this.span(path),
        ...(body.actions ? { actions: body.actions } : {}),
        ...(event ? { eventFields: body.fields.map((f, j) => ({ ...f, type: fields[j]!.type })) } : {}),
      };
    });
  }

  /**
   * Runs `resolve` once per match, each with its own diagnostics; a problem is reported once
   * for every match that has it, naming them when only some do.
   */
  private forEachMatch<T>(points: AttachPoint[], resolve: (attach: AttachPoint) => T): T[] | undefined {
    const outer = this.bag;
    const problems = new Map<string, { diagnostic: Diagnostic; matches: string[] }>();
    const results = points.map((attach) => {
      this.bag = new DiagnosticBag();
      try {
        return resolve(attach);
      } finally {
        for (const d of this.bag.items) {
          const key = `${d.code}@${d.span?.line}:${d.span?.column}`;
          const seen = problems.get(key) ?? problems.set(key, { diagnostic: d, matches: [] }).get(key)!;
          seen.matches.push(sectionOf(attach));
        }
        this.bag = outer;
      }
    });
    for (const { diagnostic, matches } of problems.values()) {
      if (matches.length === points.length) {
        outer.add(diagnostic);
        continue;
      }
      const named = `${matches.slice(0, 3).join(", ")}${matches.length > 3 ? ", ..." : ""}`;
      outer.add({
        ...diagnostic,
        message: `${diagnostic.message} (so ${matches.length === 1 ? "1 match" : `${matches.length} matches`} of ${points.length} fail: ${named})`,
        hint: `a pattern's program may use only what every match has: narrow the pattern, or give ${matches.length === 1 ? "that match" : "those matches"} a program of their own${diagnostic.hint ? `; ${diagnostic.hint}` : ""}`,
      });
    }
    return problems.size ? undefined : results;
  }

  /**
   * The event's fields for every match: a field all matches read as one type has it; integers
   * of different types take the narrowest type that holds them all (i32 and u32 -> i64); any
   * other disagreement (u64 and i64, strings of different sizes) is an error naming two matches.
   */
  private commonFields(perMatch: IrField[][], points: AttachPoint[]): IrField[] | undefined {
    const first = perMatch[0]!;
    let ok = true;
    const fields = first.map((field, j) => {
      let type = field.type;
      for (const [i, fields] of perMatch.entries()) {
        const other = fields[j]!.type;
        const common = commonType(type, other);
        if (!common) {
          const owner = perMatch.findIndex((fs) => sameType(fs[j]!.type, type));
          this.bag.add(error("type-disagreement", `'${field.name}' is ${typeName(type)} in ${sectionOf(points[owner]!)} but ${typeName(other)} in ${sectionOf(points[i]!)}, and no type holds both`,
            field.span, "capture it with a type that fits both (type: i64), or split the pattern into programs whose matches agree"));
          ok = false;
          break;
        }
        type = common;
      }
      return { ...field, type };
    });
    return ok ? fields : undefined;
  }

  /** The event a pattern's program emits, named after the pattern's fixed part: `sys_enter` for sys_enter_*. */
  private patternEventName(attach: string | string[], path: SpecPath): string | undefined {
    const first = typeof attach === "string" ? attach : attach[0]!;
    const wildcard = first.search(/[*?[{]/);
    const fixed = wildcard < 0 ? first : first.slice(0, wildcard);
    const name = fixed.slice(fixed.lastIndexOf("/") + 1).replace(/_+$/, "");
    if (!cIdentifierProblem(name)) return name;
    this.fail("invalid-name", "this program attaches to several points and its event needs a name", path, "add 'event: NAME' (or 'name:')");
    return undefined;
  }

  /** A program's fields, filter and updates, resolved against one attach point (the exit's, in a pair). */
  private body(spec: ProgramSpec, path: SpecPath, attach: AttachPoint, exitAttach: AttachPoint | undefined, matches: ReadonlyMap<string, number>) {
    const probe = { index: matches.get(sectionOf(attach))!, matches };
    const scope = new Scope(exitAttach ?? attach, this.params, this.report, exitAttach ? attach : undefined, this.types, probe);
    const fields: IrField[] = [];
    const typer = new ExprTyper(this.source, scope, fields, this.mapReader);
    for (const [i, f] of (spec.fields ?? []).entries()) {
      const field = this.field(f, [...path, "fields", i], scope, typer);
      if (field) fields.push(field);
    }
    this.checkUniqueFields(fields);
    const list = exitAttach && fields.find((f) => f.type.kind === "string_list");
    if (list) {
      this.bag.add(error("invalid-field", `'${list.name}' is a list of strings, which an entry cannot keep for its exit yet`, list.span,
        "capture it in a program without 'exit:' (the entry sees the same arguments)"));
    }
    let filter = spec.filter !== undefined ? packetCondition(typer.check(spec.filter, [...path, "filter"])) : undefined;
    if (filter && (filter.type.kind === "string" || filter.type.kind === "array")) {
      this.bag.add(error("filter-type", `a filter must be a condition, not ${filter.type.kind === "string" ? "a string" : "an array"}`, filter.span, "compare it: comm == \"bash\""));
      filter = undefined;
    }
    if (filter?.kind === "value" && filter.source.kind === "probe") {
      // Its index, 0 for the first attach point: as a condition it would drop that one's events.
      this.bag.add(error("filter-type", "a filter must be a condition, not 'probe' (the attach point's name)", filter.span,
        `compare it with a name: probe == "${scope.probeMatches()[0] ?? "ATTACH/POINT"}"`));
      filter = undefined;
    }
    if (filter && constantOf(filter) === 0n) {
      this.bag.add(error("filter-type", "this filter is always false: the program would never emit an event or update a map", filter.span, "fix the condition, or remove the program"));
    }
    const updates = (spec.update ?? []).map((u, i) => this.update(u, [...path, "update", i], typer)).filter((u): u is RUpdate => !!u);
    const actions = spec.action !== undefined ? this.actions(spec.action, [...path, "action"], exitAttach ?? attach, typer) : undefined;
    for (const d of typer.problems) this.bag.add(d);
    return { fields, filter, updates, ...(actions?.length ? { actions } : {}) };
  }

  /**
   * `action:` of a network program: its kind's verdicts, each unconditional or on a condition,
   * in the order written (a YAML map's keys keep theirs).
   */
  private actions(spec: NonNullable<ProgramSpec["action"]>, path: SpecPath, attach: AttachPoint, typer: ExprTyper): IrAction[] | undefined {
    const kind = attachKind(attach);
    const verdicts = kind.verdicts?.(attach);
    if (!verdicts) {
      this.fail("invalid-action", `${kind.owner(attach)} has no verdicts: only network programs (xdp, ...) decide what happens to traffic`, path, "remove 'action:'");
      return undefined;
    }
    const items = Array.isArray(spec) ? spec.map((item, i) => [item, [...path, i]] as const) : [[spec, path] as const];
    const actions: IrAction[] = [];
    for (const [item, at] of items) {
      const entries: Array<[string, string | undefined, SpecPath]> = typeof item === "string"
        ? [[item, undefined, at]]
        : Object.entries(item).map(([verdict, condition]) => [verdict, condition, [...at, verdict]]);
      for (const [verdict, text, where] of entries) {
        const known = Object.hasOwn(verdicts.actions, verdict) ? verdicts.actions[verdict] : undefined;
        if (!known) {
          const names = Object.keys(verdicts.actions);
          this.fail("invalid-action", `'${verdict}' is not a verdict of ${kind.owner(attach)}.${didYouMean(verdict, names)}`, where, `use one of: ${names.join(", ")}`, typeof item === "string" ? "value" : "key");
          continue;
        }
        const condition = text === undefined ? undefined : this.actionCondition(text, where, typer);
        if (text !== undefined && !condition) continue;
        if (actions.some((a) => !a.condition)) {
          this.fail("invalid-action", `'${verdict}' comes after an action without a condition, which always applies: it would never be taken`, where, "put the unconditional action last, or give the earlier one a condition");
          continue;
        }
        actions.push({ verdict, c: known.c, drops: known.drops, ...(condition ? { condition } : {}), span: this.span(where) });
      }
    }
    return actions;
  }

  /** An action's condition: like an update's `if` (packet fields guarded), and never constant false. */
  private actionCondition(text: string, path: SpecPath, typer: ExprTyper): IrExpr | undefined {
    const condition = packetCondition(typer.check(text, path, "condition"));
    if (!condition) return undefined;
    if (condition.type.kind === "string" || condition.type.kind === "array") {
      this.bag.add(error("invalid-action", `an action's condition must be a condition, not ${condition.type.kind === "string" ? "a string" : "an array"}`, condition.span, "compare it: udp.dport == 9"));
      return undefined;
    }
    if (constantOf(condition) === 0n) {
      this.bag.add(error("invalid-action", "this condition is always false: the action would never be taken", condition.span, "fix the condition, or remove the action"));
      return undefined;
    }
    const string = stringValues(condition).find((v) => v.source.kind !== "param");
    if (string) {
      this.bag.add(error("invalid-action", "an action's condition cannot compare strings read at this point", string.span, "compare strings in the program's filter instead"));
      return undefined;
    }
    return condition;
  }

  /** The event a program emits (when it captures fields) and the ring buffer it goes to. */
  private programEvent(spec: ProgramSpec, path: SpecPath, eventName: string, fields: IrField[]): { event?: REvent; output?: RMap } {
    if (fields.length === 0) {
      if (spec.output !== undefined || spec.event !== undefined) {
        this.fail("no-fields", "this program names an event but captures no fields", path, "add 'fields:' with what to capture");
      } else if (!spec.fields?.length && !spec.update?.length && spec.action === undefined) {
        this.fail("no-effect", "this program captures nothing and updates no map", path, "add 'fields:' to emit events, or 'update:' to fill a map");
      }
      return {};
    }
    const output = this.outputMap(spec.output, path);
    if (this.events.some((e) => e.name === eventName)) {
      this.fail("duplicate-event", `two programs emit an event called '${eventName}'`, [...path, spec.event ? "event" : "attach"], "give each program its own 'event:' name");
    }
    const event: REvent = {
      name: eventName, cName: cNames.event(eventName), tsName: tsNames.event(eventName), description: spec.description,
      fields, layout: undefined, span: this.span(path),
    };
    this.events.push(event);
    output?.events.push(event);
    return { event, output };
  }

  /** `used`: every name taken so far, the spec's own first; `named`: the program names the spec gave so far. */
  private programName(spec: ProgramSpec, attach: AttachPoint, path: SpecPath, used: Set<string>, named: Set<string>): string {
    if (spec.name) {
      const problem = cIdentifierProblem(spec.name);
      if (problem) this.fail("invalid-name", `program name '${spec.name}' cannot be used: ${problem}`, [...path, "name"], "rename it");
      // A map of the same name is checkNames' to report.
      if (named.has(spec.name)) this.fail("duplicate-name", `two programs are called '${spec.name}'`, [...path, "name"], "give each a different name");
      named.add(spec.name);
      return spec.name;
    }
    return uniqueName(cNames.program(attachKind(attach).programName(attach)), used);
  }

  /** What an attach kind may ask while it checks a target, its problems reported at `path`. */
  private attachContext(path: SpecPath): AttachContext {
    return {
      tracefs: () => this.kernel.tracefs(),
      symbols: () => this.kernel.symbols(),
      btf: () => this.btf(),
      crossCheckBtf: () => (this.kernel.sameKernel ? undefined : this.btf()),
      declaredMaps: () => new Map(Object.entries(this.spec.maps ?? {}).map(([name, m]) => [name, m.type ?? "array"])),
      specDir: () => this.source.dir,
      fail: (code, message, hint) => {
        this.fail(code, message, path, hint);
        return undefined;
      },
    };
  }

  // ---- fields and updates -------------------------------------------------------------------

  /** What expressions may read: the declared maps. */
  private readonly mapReader: MapReader = {
    map: (name) => this.maps.get(name) ?? (this.declaredButRefused(name) ? "refused" : undefined),
    names: () => [...this.maps.values()].filter((m) => !m.internal && !m.implicit).map((m) => m.name),
  };

  private field(spec: FieldSpec, path: SpecPath, scope: Scope, typer: ExprTyper): IrField | undefined {
    const obj = typeof spec === "string" ? { from: spec } : spec;
    const from = obj.from ?? obj.name;
    if (!from) return undefined; // the schema requires one of them
    const fromPath: SpecPath = typeof spec === "string" ? path : [...path, obj.from ? "from" : "name"];
    const value = this.readsMap(from, scope) ? this.mapField(from, fromPath, obj, typer) : scope.lookup(from.split("."), this.span(fromPath), obj.type);
    if (!value) return undefined;
    if (value.address) {
      this.fail("invalid-field", `'${from}' is a pointer (${value.address}): probegen copies an address into an event only when asked`, fromPath,
        "add 'type: u64' to capture the address itself, or capture what it points to (a member: NAME.MEMBER, or a string: type: kernel_string)");
      return undefined;
    }
    const name = obj.name ?? from.split(".").at(-1)!;
    const namePath = obj.name !== undefined && typeof spec !== "string" ? [...path, "name"] : fromPath;
    const problem = cIdentifierProblem(name);
    if (problem) {
      this.fail("invalid-name", `field name '${name}' cannot be used: ${problem}`, namePath, "give it another name with { name: ..., from: ... }");
      return undefined;
    }
    let type = value.type;
    if (type.kind === "string_list") {
      const list = this.listBounds(from, type, obj, path);
      if (!list) return undefined;
      type = list;
    } else if (obj.count !== undefined) {
      this.fail("invalid-field", `'count' bounds a list of strings (argv, envp), and '${from}' is ${typeName(type)}`, [...path, "count"], "remove 'count'");
    } else if (obj.size !== undefined) {
      const inner = value.source.kind === "stashed" ? value.source.inner : value.source;
      if (type.kind !== "string") {
        this.fail("invalid-field", `'size' applies to strings, and '${from}' is ${typeName(type)}`, [...path, "size"], "remove 'size'");
      } else if (inner.kind === "builtin" || inner.kind === "param" || (inner.kind === "tracepoint-field" && inner.field.access.kind === "char_array") || (inner.kind === "path" && inner.read === "char_array")) {
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
    const decode = this.decoder(obj.decode, value.source, type, [...path, "decode"]);
    return { name, tsName: tsNames.property(name), type, ...(asNumber ? { asNumber } : {}), ...(decode ? { decode } : {}), source: value.source, description: obj.description ?? value.description, span: this.span(fromPath), nameSpan: this.span(namePath) };
  }

  /** What a value reads as unasked: `probe` as its attach point's name, the rest as decode.ts says. */
  private automaticDecoder(source: ValueSource, type: ScalarOrString): IrDecoder | undefined {
    return source.kind === "probe" ? { kind: "symbolic", table: this.attachTable } : automaticDecoder(source, type);
  }

  /** The decoder a value gets: the one `decode:` names, else the automatic one (decode.ts). */
  private decoder(requested: DecoderName | undefined, source: ValueSource | undefined, type: ScalarOrString, path: SpecPath): IrDecoder | undefined {
    const automatic = source && this.automaticDecoder(source, type);
    if (requested === undefined) return automatic;
    let decoder: IrDecoder | string | undefined;
    try {
      decoder = requestedDecoder(requested, source, type, automatic);
    } catch (e) {
      decoder = (e as Error).message; // a build-time table the machine lacks (kernel headers)
    }
    if (typeof decoder === "string") {
      this.fail("invalid-decode", decoder, path, requested === "symbolic" || requested === "flags" ? "remove 'decode', or name a decoder such as errno or syscall" : "remove 'decode', or capture a value of the type it needs");
      return undefined;
    }
    return decoder;
  }

  /**
   * How a map's key (or each member of a struct key) reads in TS: what the spec's `decode:`
   * says, else what the expressions every update fills it from agree on (a syscall id, a
   * tracepoint's state); nothing when one update fills it from something else. A value decodes
   * only when every update `set`s it (a count or a sum of states is no state), on a map that is
   * not per-CPU (per-CPU values are added up).
   */
  private decodeMap(mapName: string, spec: MapSpec, programs: ResolvedProgram[]): void {
    const map = this.maps.get(mapName);
    if (!map?.key || !map.value || map.kind === "ringbuf") return;
    const updates = programs.flatMap((p) => p.updates).filter((u) => u.map === map);
    this.decodeComposite(map.key, updates.map((u) => u.key), spec.decode, ["maps", mapName, "decode"], `the key of '${mapName}'`);
    const sets = updates.flatMap((u) => (u.op === "set" ? [u.value] : []));
    if (sets.length && sets.length === updates.filter((u) => u.op !== "delete").length && !map.kind.includes("percpu")) {
      this.decodeComposite(map.value, sets, undefined, ["maps", mapName], `the value of '${mapName}'`);
    }
  }

  private decodeComposite(type: RMapType, fills: RComposite[], requested: MapSpec["decode"], path: SpecPath, what: string): void {
    const inferred = (exprs: IrExpr[]): { decoder?: IrDecoder; source?: ValueSource } => {
      const decoders = exprs.map((e) => (e.kind === "value" ? this.automaticDecoder(e.source, e.type) : undefined));
      const source = exprs[0]?.kind === "value" ? exprs[0].source : undefined;
      return decoders.length && decoders.every((d) => d && sameDecoder(d, decoders[0])) ? { decoder: decoders[0], source } : { source };
    };
    if (type.kind === "scalar") {
      if (requested !== undefined && typeof requested === "object") {
        this.fail("invalid-decode", `${what} is ${typeName(type.scalar)}, not a struct`, path, "give one decoder: decode: syscall");
        return;
      }
      const found = inferred(fills.flatMap((k) => (k.kind === "scalar" ? [k.expr] : [])));
      const decode = requested === undefined ? found.decoder : this.decoder(requested, found.source, type.scalar, path);
      if (decode) type.decode = decode;
      return;
    }
    if (type.kind !== "struct") return;
    if (typeof requested === "string") {
      this.fail("invalid-decode", `${what} is a struct: say which member to decode`, path, `e.g. decode: { ${type.struct.members[0]?.name ?? "member"}: ${requested} }`);
      return;
    }
    const members = type.struct.members;
    for (const member of Object.keys(requested ?? {})) {
      if (!members.some((m) => m.name === member)) this.fail("invalid-decode", `${what} has no member '${member}'.${didYouMean(member, members.map((m) => m.name))}`, [...path, member], undefined, "key");
    }
    for (const m of members) {
      const found = inferred(fills.flatMap((k) => (k.kind === "struct" ? k.members.filter((x) => x.member === m).map((x) => x.expr) : [])));
      const asked = requested?.[m.name];
      const decode = asked === undefined ? (m.type.kind === "int" ? found.decoder : undefined) : this.decoder(asked, found.source, m.type, [...path, m.name]);
      if (decode) m.decode = decode;
    }
  }

  /** A list's bounds: `count` strings of `size` bytes each (NUL included), within what one event can carry. */
  private listBounds(from: string, type: StringListType, obj: { count?: number; size?: number }, path: SpecPath): StringListType | undefined {
    const list: StringListType = { kind: "string_list", count: obj.count ?? type.count, size: obj.size ?? type.size };
    if (list.size < 2) {
      this.fail("invalid-field", `each string of '${from}' needs at least 2 bytes (a character and the NUL)`, [...path, "size"], "raise 'size'");
      return undefined;
    }
    if (list.count * list.size > MAX_LIST_BYTES) {
      const at = obj.count !== undefined ? "count" : "size";
      this.fail("invalid-field", `'${from}' would take ${list.count} × ${list.size} = ${list.count * list.size} bytes of every event; a list of strings takes at most ${MAX_LIST_BYTES}`,
        [...path, at], `lower 'count' or 'size' (e.g. count: ${list.count}, size: ${Math.floor(MAX_LIST_BYTES / list.count)})`);
      return undefined;
    }
    return list;
  }

  /** `from:` reads a map: `start[args.next_pid]`, `pid in start`, or names one (`maps.start`, an error the typer explains). */
  private readsMap(from: string, scope: Scope): boolean {
    const first = from.split(/[.[\s]/)[0]!;
    return /[[\s]/.test(from) || first === "maps" || (this.maps.has(first) && !scope.names().includes(first));
  }

  /** A field whose value a map lookup gives (its type is the map's). */
  private mapField(from: string, path: SpecPath, spec: Exclude<FieldSpec, string>, typer: ExprTyper): ResolvedValue | undefined {
    const before = typer.problems.length;
    const expr = typer.check(from, path, "from");
    for (const d of typer.problems.splice(before)) this.bag.add(d);
    if (!expr) return undefined;
    if (expr.kind !== "value" || expr.source.kind !== "lookup") {
      this.fail("invalid-field", "a field captures one value: a name or a map lookup, not a computation", path,
        "capture the values it is computed from, or store the result in a map (update: set:)");
      return undefined;
    }
    if (spec.type !== undefined) {
      this.fail("invalid-field", `a map lookup has the map's type (${typeName(expr.type)})`, [...path.slice(0, -1), "type"], "remove 'type'");
      return undefined;
    }
    return { source: expr.source, type: expr.type, description: `${expr.source.lookup.text}${expr.source.read.kind === "found" ? ": whether the map has the key" : " (0 when absent)"}` };
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

  private update(spec: UpdateSpec, path: SpecPath, typer: ExprTyper): RUpdate | undefined {
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
    if (isSocketMap(map.kind)) {
      this.fail("invalid-update", `'${map.name}' is a ${map.kind}: it holds sockets, which TypeScript adds (probe.maps.${map.tsName}.add(key, socket))`, [...path, "map"],
        "count or sum into a hash map keyed by what you want to know (msg.remote_port...)");
      return undefined;
    }
    if (!map.key || !map.value) return undefined; // the map's declaration has its error already
    const ops = (["count", "sum", "min", "max", "set", "hist", "delete"] as const).filter((op) => spec[op] !== undefined);
    if (ops.length !== 1) {
      this.fail("invalid-update", ops.length ? `an update does one thing, and this one says ${ops.join(" and ")}` : "say what the update does",
        path, "use one of count: true, sum: EXPR, min: EXPR, max: EXPR, set: EXPR, hist: EXPR, delete: true");
      return undefined;
    }
    const op = ops[0]!;
    const span = this.span(path);
    const condition = spec.if !== undefined ? packetCondition(typer.check(spec.if, [...path, "if"], "if")) : undefined;
    if (spec.if !== undefined && (!condition || condition.type.kind === "string" || condition.type.kind === "array")) {
      if (condition) this.bag.add(error("invalid-update", `'if' must be a condition, not ${condition.type.kind === "string" ? "a string" : "an array"}`, condition.span, "compare it: ret < 0"));
      return undefined;
    }
    if (condition && constantOf(condition) === 0n) {
      this.bag.add(error("invalid-update", "this 'if' is always false: the update would never happen", condition.span, "fix the condition, or remove the update"));
      return undefined;
    }
    const unstashedString = condition && stringValues(condition).find((v) => v.source.kind !== "stashed" && v.source.kind !== "param");
    if (unstashedString) {
      this.bag.add(error("invalid-update", "an update's 'if' cannot compare strings read at this point", unstashedString.span,
        "compare strings in the program's filter instead"));
      return undefined;
    }
    const isArray = isArrayKind(map.kind);
    if (map.keyless && spec.key !== undefined) {
      this.fail("invalid-update", `map '${map.name}' has no key: it holds one value`, [...path, "key"], "remove 'key:'", "key");
      return undefined;
    }
    if (spec.key === undefined && !isArray) {
      this.fail("invalid-update", `map '${map.name}' is a ${map.kind}: say which key to update`, path, "add key: EXPR (or one per member of a struct key)");
      return undefined;
    }
    const key: RComposite | undefined = spec.key === undefined
      ? { kind: "scalar", type: u32, expr: { kind: "int", value: 0n, type: u32, span } }
      : this.composite(map.key, spec.key, [...path, "key"], typer, `key of '${map.name}'`);
    if (!key) return undefined;
    const base = { map, key, ...(condition ? { condition } : {}), span };
    const value = map.value;
    const scalarValue = (text: string, what: string): IrExpr | undefined => {
      const expr = typer.check(text, [...path, what], what);
      if (expr && (expr.type.kind === "string" || expr.type.kind === "array")) {
        this.bag.add(error("invalid-update", `${what} needs a number, and this is ${expr.type.kind === "string" ? "a string" : `an array (${typeName(expr.type)})`}`, expr.span));
        return undefined;
      }
      return expr;
    };
    switch (op) {
      case "count": case "sum": case "min": case "max": {
        if (value.kind !== "scalar" || value.scalar.kind !== "int") {
          this.fail("invalid-update", `${op} needs a map whose value is an integer, and '${map.name}' holds ${describeValue(value)}`, [...path, op], "declare value: u64");
          return undefined;
        }
        const counter = value.scalar;
        if (op === "count") return { ...base, op, counter };
        const expr = scalarValue(spec[op]!, op);
        return expr && { ...base, op, counter, value: expr };
      }
      case "hist": {
        if (value.kind !== "histogram") {
          this.fail("invalid-update", `hist needs a map whose value is a histogram, and '${map.name}' holds ${describeValue(value)}`, [...path, "hist"], "declare value: hist, or value: { lhist: { min, max, step } }");
          return undefined;
        }
        const expr = scalarValue(spec.hist!, "hist");
        return expr && { ...base, op, histogram: value.histogram, value: expr };
      }
      case "set": {
        if (value.kind === "histogram") {
          this.fail("invalid-update", `'${map.name}' holds a histogram: add to it with hist:`, [...path, "set"]);
          return undefined;
        }
        const v = this.composite(value, spec.set!, [...path, "set"], typer, `value of '${map.name}'`);
        return v && { ...base, op, value: v };
      }
      case "delete":
        if (isArray) {
          this.fail("invalid-update", map.keyless ? `'${map.name}' holds one value, which cannot be deleted` : "array map entries cannot be deleted", [...path, "delete"], "set them to zero instead");
          return undefined;
        }
        return { ...base, op };
    }
  }

  /** A key or value: one expression, or one per struct member (every member named). */
  private composite(type: RMapType, spec: string | number | Record<string, string | number>, path: SpecPath, typer: ExprTyper, what: string): RComposite | undefined {
    if (type.kind === "struct") {
      const members = type.struct.members;
      if (typeof spec !== "object") {
        this.fail("invalid-update", `the ${what} is a struct: give one value per member`, path, `e.g. { ${members.map((m) => `${m.name}: ...`).join(", ")} }`);
        return undefined;
      }
      const out: Array<{ member: IrStructMember; expr: IrExpr }> = [];
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
        if (expr && this.assignable(expr, m.type)) out.push({ member: m, expr });
      }
      return out.length === members.length ? { kind: "struct", struct: type.struct, members: out } : undefined;
    }
    if (typeof spec === "object") {
      this.fail("invalid-update", `the ${what} is ${describeValue(type)}, not a struct`, path, "give a single expression");
      return undefined;
    }
    const expr = typer.check(spec, path, "value");
    return expr && type.kind === "scalar" && this.assignable(expr, type.scalar) ? { kind: "scalar", type: type.scalar, expr } : undefined;
  }

  private assignable(expr: IrExpr, to: ScalarOrString): boolean {
    if (expr.type.kind === "array" || to.kind === "array") {
      // Arrays are copied whole: the same bytes, from a captured value.
      if (expr.kind !== "value" || expr.type.kind !== "array" || to.kind !== "array" || !arrayFits(expr.type, to)) {
        const fix = expr.type.kind === "array" && expr.type.stack ? `declare the map with type ${typeName(expr.type)}` : "declare the map with an array type, e.g. u8[16]";
        this.bag.add(error("invalid-update", `cannot store ${expr.kind === "value" ? typeName(expr.type) : "a number"} in ${typeName(to)}`, expr.span,
          to.kind === "array" ? (to.stack ? `give ${arraySourceText(to)}` : `give ${arraySourceText(to)}, such as a tracepoint's address field`) : fix));
        return false;
      }
      return true;
    }
    const constant = to.kind === "int" || to.kind === "bool" ? constantOf(expr) : undefined;
    if (constant !== undefined && (to.kind === "int" ? !fits(constant, to) : constant !== 0n && constant !== 1n)) {
      this.bag.add(error("invalid-update", `${integerText(constant)} does not fit in ${to.kind === "int" ? rangeText(to) : "bool (0 or 1)"}`, expr.span,
        "use a value in that range, or declare a wider type"));
      return false;
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
}

function isArrayKind(kind: string): boolean {
  return kind === "array" || kind === "percpu_array";
}

function sectionOf(a: AttachPoint): string {
  return attachKind(a).section(a);
}


/** A type both hold exactly: the same type, or for integers the narrowest that holds both ranges. */
function commonType(a: ScalarOrString, b: ScalarOrString): ScalarOrString | undefined {
  if (sameType(a, b)) return a;
  if (a.kind !== "int" || b.kind !== "int") return undefined;
  if (a.signed === b.signed) return a.size >= b.size ? a : b;
  const [signed, unsigned] = a.signed ? [a, b] : [b, a];
  if (signed.size > unsigned.size) return signed;
  return unsigned.size < 8 ? { kind: "int", size: (unsigned.size * 2) as IntType["size"], signed: true } : undefined;
}

function sameType(a: ScalarOrString, b: ScalarOrString): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describeValue(t: RMapType): string {
  switch (t.kind) {
    case "histogram": return "a histogram";
    case "struct": return "a struct";
    case "scalar": return typeName(t.scalar);
  }
}

const units: Record<string, bigint> = { B: 1n, KiB: 1024n, MiB: 1024n ** 2n, GiB: 1024n ** 3n };

/** The largest ring the kernel creates: its size is a 32-bit max_entries. */
const MAX_RINGBUF_SIZE = 2n ** 31n;

function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

/** A size in bytes: 256KiB, or a number (`exact`: the integer YAML spelt, undefined if none). */
function parseSize(size: number | string, exact: bigint | undefined): bigint | undefined {
  if (typeof size === "number") return exact;
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(size)!;
  return BigInt(m[1]!) * units[m[2] ?? "B"]!;
}

/** A condition that holds only where the packet has the headers its comparisons read (packet.ts). */
function packetCondition(e: IrExpr | undefined): IrExpr | undefined {
  if (!e || e.type.kind !== "bool" && e.type.kind !== "int") return e;
  return guardPresence(e, (x) => sourcesIn(x).filter((s): s is PacketSource => s.kind === "packet"));
}
