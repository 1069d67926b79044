/**
 * Emit C: the IR rendered through templates/probe.bpf.c.hbs. Declarations follow the layout
 * pass and are proved by _Static_assert; user-derived statements carry #line directives so
 * clang (and the verifier's source lines) point at the spec.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type Handlebars from "handlebars";
import { comparesStringValues, copyBytes, readStringList, divisionHelper, locals, lookupLocal, type DivisionHelper, needsPidTgid, needsTask, needsUidGid, printCondition, printOperand, readArray, readString, scalarValue } from "./c-expr.js";
import { HeaderBuilder } from "../kernel/btf/index.js";
import type { SourceSpan } from "./diagnostics.js";
import { cStringLiteral, pathInComment } from "./escape.js";
import { lookupsIn, mapTypeSize, programExprs, programSources, sourceKey, sourcesIn, type IrComposite, type IrEvent, type IrExpr, type IrField, type IrAction, type IrHistogram, type IrLookup, type IrMap, type IrMapType, type IrProbe, type IrProgram, type IrStash, type IrUpdate, type LookupRead, type ValueSource } from "./ir.js";
import { attachKind, type CContext, type ContextStruct } from "./attach/index.js";
import type { StructLayout } from "./layout.js";
import { cNames } from "./names.js";
import { packetWalk, type PacketSource } from "./packet.js";
import { packageRoot, version } from "./package-info.js";
import { cDeclaration, cScalarType, sizeOf, type BoolType, type IntType, type ScalarOrString } from "./types.js";

let template: Handlebars.TemplateDelegate | undefined;
const require = createRequire(import.meta.url);

function probeTemplate(): Handlebars.TemplateDelegate {
  if (!template) {
    const text = readFileSync(`${packageRoot}/templates/probe.bpf.c.hbs`, "utf8");
    template = precompiled(text) ?? (require("handlebars") as typeof Handlebars).compile(text, { noEscape: true, strict: true });
  }
  return template;
}

/**
 * The template as `npm run build` precompiled it (scripts/precompile-templates.mjs), when it was
 * precompiled from this very text: Handlebars' runtime alone, no template compile at run time.
 */
function precompiled(text: string): Handlebars.TemplateDelegate | undefined {
  const file = fileURLToPath(new URL("./probe-template.cjs", import.meta.url));
  if (!existsSync(file)) return undefined;
  const mod = require(file) as { spec: Parameters<typeof Handlebars.template>[0]; templateHash: string };
  if (mod.templateHash !== createHash("sha256").update(text).digest("hex")) return undefined;
  return (require("handlebars/runtime") as typeof Handlebars).template(mod.spec);
}

const RESTORE_LINE = "#line __PG_RESTORE__";

/** `cFile` is the path clang compiles (for #line directives that return to it). */
export function emitC(probe: IrProbe, cFile: string): string {
  const histograms = probe.maps.flatMap((m) => (m.value?.kind === "histogram" ? [m.value.histogram] : []));
  const zeroSlots = Math.max(0, ...histograms.map((h) => h.slots));
  const rings = probe.maps.filter((m) => m.kind === "ringbuf");
  const text = probeTemplate()({
    version,
    source: pathInComment(probe.source, "c"),
    license: cStringLiteral(probe.license),
    usesPtRegs: usesPtRegs(probe),
    sixthArgument: probe.programs.some((p) => programSources(p).some(readsSixthArgument)),
    headers: [...new Set(probe.programs.flatMap((p) => programContext(p).headers ?? []))],
    usesEndian: probe.programs.some((p) => programContext(p).endian),
    usesUsdt: probe.programs.some((p) => programContext(p).usdt),
    kernelTypes: kernelTypes(probe),
    hasRing: probe.maps.some((m) => m.kind === "ringbuf"),
    rings: rings.length,
    contexts: contextStructs(probe),
    params: probe.params.length ? paramsView(probe) : undefined,
    structs: structsOf(probe),
    maps: probe.maps.map(mapView),
    zeroSlots: zeroSlots || undefined,
    log2: histograms.some((h) => h.kind === "log2"),
    division: divisionHelpers(probe),
    streq: probe.programs.flatMap(programExprs).some(comparesStringValues),
    programs: probe.programs.map((p) => programView(p, probe.source, rings)),
  });
  return restoreLines(text, cFile);
}

/** Which of the template's division helpers the probe's expressions call (none: no helpers). */
function divisionHelpers(probe: IrProbe): Record<DivisionHelper, boolean> | undefined {
  const used = new Set(probe.programs.flatMap(programExprs).flatMap((e) => divisionHelper(e) ?? []));
  return used.size ? { pg_udiv: used.has("pg_udiv"), pg_umod: used.has("pg_umod"), pg_sdiv: used.has("pg_sdiv"), pg_smod: used.has("pg_smod") } : undefined;
}

/** Only the kernel types the probe reads, from BTF, instead of the whole vmlinux.h. */
function kernelTypes(probe: IrProbe): string | undefined {
  const use = probe.btfTypes;
  if (!use) return undefined;
  // <asm/ptrace.h> already defines pt_regs for kprobes.
  const builder = new HeaderBuilder(use.btf, { provided: usesPtRegs(probe) ? ["struct pt_regs"] : [] });
  for (const p of use.paths) builder.path(p.root, p.steps);
  for (const id of use.declare) builder.declare(id);
  return builder.emit().trimEnd();
}

function structsOf(probe: IrProbe) {
  const seen = new Set<string>();
  const out: Array<ReturnType<typeof structView> & { title: string }> = [];
  const add = (title: string, cName: string, view: () => ReturnType<typeof structView>) => {
    if (seen.has(cName)) return;
    seen.add(cName);
    out.push({ title, ...view() });
  };
  for (const e of probe.events) add(`Event '${e.name}'.`, e.cName, () => structView(e.cName, e.layout));
  for (const m of probe.maps) {
    for (const role of ["key", "value"] as const) {
      const t = m[role];
      if (t?.kind === "struct") {
        const s = t.struct;
        add(m.internal ? `What an entry leaves for its exit (${m.name}).` : `Map '${m.name}' ${role}.`, s.cName, () => structView(s.cName, s.layout));
      }
      if (t?.kind === "histogram") {
        const h = t.histogram;
        add(`Map '${m.name}' value: ${h.kind === "log2" ? "log2" : "linear"} histogram buckets.`, h.cName, () => ({
          cName: h.cName,
          members: [{ decl: `__u64 slots[${h.slots}]` }],
          asserts: [`_Static_assert(sizeof(struct ${h.cName}) == ${h.slots * 8}, "probegen layout: size of ${h.cName}");`],
        }));
      }
    }
  }
  return out;
}

function structView(cName: string, layout: StructLayout) {
  return {
    cName,
    members: layout.members.map((m) => ({ decl: cDeclaration(m.type, m.name) })),
    asserts: [
      `_Static_assert(sizeof(struct ${cName}) == ${layout.size}, "probegen layout: size of ${cName}");`,
      ...layout.members.map((m) => `_Static_assert(__builtin_offsetof(struct ${cName}, ${m.name}) == ${m.offset}, "probegen layout: ${cName}.${m.name}");`),
    ],
  };
}

function paramsView(probe: IrProbe) {
  const view = structView("pg_params", probe.paramsLayout);
  const defaults = probe.params.map((p) => `.${p.name} = ${typeof p.default === "string" ? cStringLiteral(p.default) : `${p.default}${p.type.kind === "int" && p.type.signed ? "LL" : "ULL"}`},`);
  return { ...view, defaults };
}

function programContext(p: IrProgram): CContext {
  return attachKind(p.attach).context(p.attach);
}

/** A network program's verdict that leaves traffic alone (XDP_PASS, TC_ACT_OK...); 0 for tracing programs. */
function defaultVerdict(p: IrProgram): string {
  const verdicts = attachKind(p.attach).verdicts?.(p.attach);
  return verdicts ? verdicts.actions[verdicts.default]!.c : "0";
}

/** A value from the sixth argument register (a uprobe's arg5): libbpf 1.1 has no PT_REGS_PARM6, the template defines it. */
function readsSixthArgument(s: ValueSource): boolean {
  if (s.kind === "kprobe-arg") return s.index === 5 && s.ctx !== "array";
  if (s.kind === "stashed") return readsSixthArgument(s.inner);
  return false;
}

/** Some program reads pt_regs: the C includes <asm/ptrace.h> and bpf_tracing.h. */
function usesPtRegs(probe: IrProbe): boolean {
  return probe.programs.some((p) => programContext(p).ptRegs);
}

/** The context structs the programs receive (tracepoint records), each declared once. */
function contextStructs(probe: IrProbe): ContextStruct[] {
  const seen = new Map<string, ContextStruct>();
  for (const p of probe.programs) {
    const struct = programContext(p).struct;
    if (struct) seen.set(struct.cName, struct);
  }
  return [...seen.values()];
}

const mapTypes: Record<IrMap["kind"], string> = {
  ringbuf: "BPF_MAP_TYPE_RINGBUF", hash: "BPF_MAP_TYPE_HASH", lru_hash: "BPF_MAP_TYPE_LRU_HASH",
  percpu_hash: "BPF_MAP_TYPE_PERCPU_HASH", lru_percpu_hash: "BPF_MAP_TYPE_LRU_PERCPU_HASH",
  array: "BPF_MAP_TYPE_ARRAY", percpu_array: "BPF_MAP_TYPE_PERCPU_ARRAY",
  sockmap: "BPF_MAP_TYPE_SOCKMAP", sockhash: "BPF_MAP_TYPE_SOCKHASH",
};

/** The C spelling of a map's key or value type. */
function cTypeOf(t: IrMapType): string {
  switch (t.kind) {
    case "struct": return `struct ${t.struct.cName}`;
    case "histogram": return `struct ${t.histogram.cName}`;
    case "scalar": {
      const s = t.scalar;
      if (s.kind === "string") return `char[${s.size}]`;
      if (s.kind === "array") return `${cScalarType(s.element)}[${s.length}]`;
      if (s.kind === "string_list") throw new Error("a list of strings in a map");
      return cScalarType(s);
    }
  }
}

function mapView(m: IrMap) {
  return {
    name: m.name,
    type: mapTypes[m.kind],
    maxEntries: m.maxEntries,
    key: m.key && cTypeOf(m.key),
    value: m.value && cTypeOf(m.value),
    flags: m.noPrealloc ? "BPF_F_NO_PREALLOC" : undefined,
    pinned: m.pinned,
  };
}

// ---- program bodies -----------------------------------------------------------------------

function programView(p: IrProgram, source: string, rings: IrMap[]) {
  const what = attachKind(p.attach).title(p.attach);
  const context = programContext(p).type;
  const role = p.stashes ? ": entry, stashes its values for the exit" : p.unstashes ? ": exit, pairs with its entry" : "";
  return { name: p.name, section: p.section, title: `${what}${role}`, context, body: new BodyWriter(p, source, rings).write() };
}

class BodyWriter {
  private readonly lines: string[] = [];
  private usedOut = false;
  /** The ring-full path jumps to the actions (pg_verdict). */
  private usedVerdict = false;
  /** What the program returns when it leaves its work (or the traffic) alone: its kind's default verdict, else 0. */
  private readonly pass: string;

  /** `rings`: the probe's ring buffers in declaration order, which indexes their wake flags. */
  constructor(private readonly p: IrProgram, private readonly source: string, private readonly rings: IrMap[]) {
    this.pass = defaultVerdict(p);
  }

  private line(text: string, depth = 1): void {
    this.lines.push(`${"\t".repeat(depth)}${text}`);
  }

  /** Marks the following statements as coming from the spec at `span`. */
  private at(span: SourceSpan): void {
    this.lines.push(`#line ${span.line} ${cStringLiteral(this.source)}`);
  }

  private back(): void {
    this.lines.push(RESTORE_LINE);
  }

  /** Leaves the program; the exit half of a pair must first drop its stash entry. */
  private leave(depth = 2): void {
    if (this.p.unstashes) {
      this.usedOut = true;
      this.line("goto pg_out;", depth);
    } else {
      this.line(`return ${this.pass};`, depth);
    }
  }

  write(): string[] {
    const { p } = this;
    const sources = programSources(p);
    if (sources.some(needsPidTgid) || p.stashes || p.unstashes) this.line(`__u64 ${locals.pidTgid} = bpf_get_current_pid_tgid();`);
    if (sources.some(needsUidGid)) this.line(`__u64 ${locals.uidGid} = bpf_get_current_uid_gid();`);
    if (sources.some(needsTask)) this.line("struct task_struct *pg_task = (struct task_struct *)bpf_get_current_task();");
    this.packetWalk(sources);
    if (p.unstashes) {
      this.line(`__u32 pg_tid = (__u32)${locals.pidTgid};`);
      this.line(`struct ${p.unstashes.cName} *${locals.stash} = bpf_map_lookup_elem(&${p.unstashes.map.name}, &pg_tid);`);
      this.line(`if (!${locals.stash})`);
      this.line(`return ${this.pass};`, 2);
    }
    // A filter runs before anything is reserved unless it compares a long string the event
    // captures anyway: then it reads the event's copy rather than reading the string twice.
    const captured = p.event?.fields ?? [];
    // (A stashed string is already in the stash.)
    const late = p.filter !== undefined && sourcesIn(p.filter).some((v) => isString(v) && !isComm(v) && v.kind !== "stashed" && captured.some((f) => sameSource(f.source, v)));
    // Map lookups: those the filter reads before it, the others once it has passed; all of
    // them before any update, so every read sees the maps as they were (a delete comes after).
    const lookups = lookupsIn(sources);
    const filterLookups = late ? lookups : lookupsIn(sourcesIn(p.filter));
    filterLookups.forEach((l) => this.lookup(l, sources));
    if (p.filter && !late) this.earlyFilter(p.filter);
    if (p.stashes) this.stash(p.stashes);
    lookups.filter((l) => !filterLookups.includes(l)).forEach((l) => this.lookup(l, sources));
    // Maps are updated once the filter has passed: before the reservation, so a full ring
    // buffer never loses a count, unless the filter itself needs the event's copy of a string.
    if (!late) p.updates.forEach((u) => this.update(u));
    if (p.event && p.output) this.emitEvent(p.event, p.output, late ? p.filter : undefined);
    if (p.unstashes) {
      if (this.usedOut) this.lines.push("pg_out:");
      this.line(`bpf_map_delete_elem(&${p.unstashes.map.name}, &pg_tid);`);
    }
    if (p.actions?.length) this.verdicts(p.actions);
    if (!p.actions?.some((a) => !a.condition)) this.line(`return ${this.pass};`);
    return this.lines;
  }

  /**
   * A network program's actions, last: its updates and event are done whatever the verdict (a
   * count of dropped packets counts them), and the first action whose condition holds decides.
   */
  private verdicts(actions: IrAction[]): void {
    if (this.usedVerdict) this.lines.push("pg_verdict:");
    for (const a of actions) {
      this.at(a.span);
      if (a.condition) {
        this.line(`if ${printCondition(a.condition, this.stashedStrings)}`);
        this.line(`return ${a.c}; /* ${a.verdict} */`, 2);
      } else {
        this.line(`return ${a.c}; /* ${a.verdict} */`);
      }
      this.back();
    }
  }

  /** The header walk that fills the packet values the program reads (packet.ts), once, first. */
  private packetWalk(sources: ValueSource[]): void {
    const reads = sources.filter((s): s is PacketSource => s.kind === "packet");
    if (reads.length === 0) return;
    const access = attachKind(this.p.attach).packet?.(this.p.attach);
    if (!access) throw new Error(`${this.p.name} reads packet fields and its kind has no packet`);
    this.lines.push(...packetWalk(reads, access));
  }

  private earlyFilter(filter: IrExpr): void {
    const scratch = new ScratchStrings(this, []);
    const printed = printOperand(filter, scratch.home.bind(scratch));
    scratch.declare();
    this.at(filter.span);
    this.line(`if (!${printed})`);
    this.leave();
    this.back();
  }

  /** Entry half of a pair: build the record in per-CPU scratch, then file it under the thread id. */
  private stash(s: IrStash): void {
    this.line("__u32 pg_zero = 0;");
    this.line(`struct ${s.cName} *${locals.stash} = bpf_map_lookup_elem(&${s.scratch.name}, &pg_zero);`);
    this.line(`if (!${locals.stash})`);
    this.line(`return ${this.pass};`, 2);
    this.line(`${locals.stash}->pg_ts = bpf_ktime_get_ns();`);
    for (const m of s.members) {
      if (m.type.kind === "string") this.line(readString(m.source, `${locals.stash}->${m.name}`, m.type.size));
      else if (m.type.kind === "array") this.line(readArray(m.source, `${locals.stash}->${m.name}`, sizeOf(m.type)));
      else this.line(`${locals.stash}->${m.name} = ${scalarValue(m.source, m.type)};`);
    }
    this.line(`__u32 pg_tid = (__u32)${locals.pidTgid};`);
    this.line(`bpf_map_update_elem(&${s.map.name}, &pg_tid, ${locals.stash}, BPF_ANY);`);
  }

  /** Reserves, fills and submits the event; a late filter (and the updates after it) runs once it is filled. */
  private emitEvent(event: IrEvent, ring: IrMap, lateFilter: IrExpr | undefined): void {
    this.line(`struct ${event.cName} *e = bpf_ringbuf_reserve(&${ring.name}, sizeof(*e), 0);`);
    this.line("if (!e) {");
    this.line("pg_count_drop();", 2);
    if (this.p.actions?.length && !this.p.unstashes) {
      // A full ring costs the event, never the verdict.
      this.usedVerdict = true;
      this.line("goto pg_verdict;", 2);
    } else {
      this.leave();
    }
    this.line("}");
    if (event.tag !== undefined) this.line(`e->pg_type = ${event.tag};`);
    for (const f of event.fields) this.capture(f);
    if (lateFilter) {
      const scratch = new ScratchStrings(this, event.fields);
      const printed = printOperand(lateFilter, scratch.home.bind(scratch));
      scratch.declare();
      this.at(lateFilter.span);
      this.line(`if (!${printed}) {`);
      this.line("bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);", 2);
      this.leave();
      this.line("}");
      this.back();
      this.p.updates.forEach((u) => this.update(u));
    }
    // A wake-up costs this CPU an irq_work, more than writing the record: only a sleeping reader
    // gets one. An awake reader drains on its timer (drainIntervalMs, sooner at a high rate).
    const wake = this.rings.indexOf(ring);
    this.line(`bpf_ringbuf_submit(e, pg_wake[${wake}] ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);`);
  }

  private capture(f: IrField): void {
    this.at(f.span);
    if (f.type.kind === "string_list") {
      for (const l of readStringList(f.source, `e->${f.name}`, `e->${cNames.listCount(f.name)}`, `e->${cNames.listMore(f.name)}`, f.type)) this.line(l);
    } else if (f.type.kind === "string") this.readInto(f.source, `e->${f.name}`, f.type.size);
    else if (f.type.kind === "array") this.line(readArray(f.source, `e->${f.name}`, sizeOf(f.type)));
    else this.line(`e->${f.name} = ${scalarValue(f.source, f.type)};`);
    this.back();
  }

  /** A string into `dst`; a stashed one is copied, cut to the smaller of the two arrays. */
  readInto(source: ValueSource, dst: string, size: number, depth = 1): void {
    if (source.kind !== "stashed") return this.line(readString(source, dst, size), depth);
    const member = this.p.unstashes!.members.find((m) => m.name === source.member)!;
    const have = (member.type as { size: number }).size;
    this.line(copyBytes(dst, `${locals.stash}->${source.member}`, Math.min(have, size)), depth);
    if (have > size) this.line(`${dst}[${size - 1}] = 0;`, depth);
  }

  // ---- map lookups ------------------------------------------------------------------------

  /**
   * One bpf_map_lookup_elem, its results kept in locals the expressions read: the value (0 when
   * the key is absent: bpftrace's rule), the members read of a struct value, and whether the key
   * was found. Per-CPU maps give this CPU's value.
   */
  private lookup(l: IrLookup, sources: ValueSource[]): void {
    const reads: LookupRead[] = sources.flatMap((s) => (s.kind === "lookup" && s.lookup === l ? [s.read] : []));
    const value = reads.some((r) => r.kind === "value");
    const found = reads.some((r) => r.kind === "found");
    const members = [...new Map(reads.flatMap((r) => (r.kind === "member" ? [[r.member.name, r.member] as const] : []))).values()];
    const map = l.map as IrMap;
    const valueType = map.value!;
    if (value) this.line(`${cScalarType(scalarOf(valueType))} ${lookupLocal(l, { kind: "value" })} = 0;`);
    for (const member of members) this.line(`${cScalarType(member.type as IntType | BoolType)} ${lookupLocal(l, { kind: "member", member })} = 0;`);
    if (found) this.line(`__u8 ${lookupLocal(l, { kind: "found" })} = 0;`);
    this.at(l.span);
    this.line(`{ /* lookup ${map.name} */`);
    const key = this.composite("pg_k", l.key as IrComposite, l.keyBuffer);
    const pointer = value || members.length ? `${valueType.kind === "struct" ? `struct ${valueType.struct.cName}` : cScalarType(scalarOf(valueType))} *` : "void *";
    this.line(`${pointer}pg_found = bpf_map_lookup_elem(&${map.name}, &${key});`, 2);
    this.line("if (pg_found) {", 2);
    if (value) this.line(`${lookupLocal(l, { kind: "value" })} = *pg_found;`, 3);
    for (const member of members) this.line(`${lookupLocal(l, { kind: "member", member })} = pg_found->${member.name};`, 3);
    if (found) this.line(`${lookupLocal(l, { kind: "found" })} = 1;`, 3);
    this.line("}", 2);
    this.line("}");
    this.back();
  }

  // ---- map updates ------------------------------------------------------------------------

  private update(u: IrUpdate): void {
    const m = u.map;
    this.at(u.span);
    this.line(u.condition ? `if ${printCondition(u.condition, this.stashedStrings)} { /* ${u.op} ${m.name} */` : `{ /* ${u.op} ${m.name} */`);
    const key = this.composite("pg_k", u.key, u.keyBuffer);
    const array = m.kind === "array" || m.kind === "percpu_array";
    const perCpu = m.kind.includes("percpu");
    switch (u.op) {
      case "delete":
        this.line(`bpf_map_delete_elem(&${m.name}, &${key});`, 2);
        break;
      case "set": {
        const value = this.composite("pg_val", u.value, u.valueBuffer);
        this.line(`bpf_map_update_elem(&${m.name}, &${key}, &${value}, BPF_ANY);`, 2);
        break;
      }
      case "count":
      case "sum": {
        const t = cScalarType(u.counter);
        this.line(`${t} pg_n = ${u.op === "count" ? "1" : `(${t})${printOperand(u.value, noStrings)}`};`, 2);
        this.line(`${t} *pg_v = bpf_map_lookup_elem(&${m.name}, &${key});`, 2);
        const add = perCpu ? "*pg_v += pg_n;" : "__sync_fetch_and_add(pg_v, pg_n);";
        if (array) {
          this.line("if (pg_v)", 2);
          this.line(add, 3);
        } else {
          this.line("if (pg_v) {", 2);
          this.line(add, 3);
          this.line(`} else if (bpf_map_update_elem(&${m.name}, &${key}, &pg_n, BPF_NOEXIST) != 0) {`, 2);
          this.line("/* another CPU inserted the key first: add to its entry */", 3);
          this.line(`pg_v = bpf_map_lookup_elem(&${m.name}, &${key});`, 3);
          this.line("if (pg_v)", 3);
          this.line(add, 4);
          this.line("}", 2);
        }
        break;
      }
      case "min":
      case "max": {
        const t = cScalarType(u.counter);
        const better = u.op === "min" ? "<" : ">";
        this.line(`${t} pg_n = (${t})${printOperand(u.value, noStrings)};`, 2);
        this.line(`${t} *pg_v = bpf_map_lookup_elem(&${m.name}, &${key});`, 2);
        this.line(`if (pg_v) {`, 2);
        this.line(`if (pg_n ${better} *pg_v)`, 3);
        this.line("*pg_v = pg_n;", 4);
        this.line(array ? "}" : `} else {`, 2);
        if (!array) {
          this.line(`bpf_map_update_elem(&${m.name}, &${key}, &pg_n, BPF_NOEXIST);`, 3);
          this.line("}", 2);
        }
        break;
      }
      case "hist":
        this.histogram(m, key, u.histogram, u.value, array, perCpu);
        break;
    }
    this.line("}");
    this.back();
  }

  private histogram(m: IrMap, key: string, h: IrHistogram, value: IrExpr, array: boolean, perCpu: boolean): void {
    this.line(`__s64 pg_x = (__s64)${printOperand(value, noStrings)};`, 2);
    if (h.kind === "log2") {
      this.line("__u64 pg_slot = pg_log2_slot(pg_x);", 2);
    } else {
      // Unsigned division (BPF has no signed one): here pg_x - min is never negative.
      this.line(`__u64 pg_slot = pg_x < ${h.min}LL ? 0 : pg_x >= ${h.max}LL ? ${h.slots - 1} : (__u64)(pg_x - ${h.min}LL) / ${h.step}ULL + 1;`, 2);
    }
    // clang can prove the slot in range and would drop the clamp; the verifier cannot, so hide
    // the value from clang and keep the clamp the verifier needs.
    this.line("barrier_var(pg_slot);", 2);
    this.line(`if (pg_slot > ${h.slots - 1})`, 2);
    this.line(`pg_slot = ${h.slots - 1};`, 3);
    this.line(`struct ${h.cName} *pg_v = bpf_map_lookup_elem(&${m.name}, &${key});`, 2);
    if (!array) {
      // A new key starts from zeroed buckets, copied from a map rather than the small stack.
      this.line("if (!pg_v) {", 2);
      this.line("__u32 pg_zero_key = 0;", 3);
      this.line("void *pg_zero_value = bpf_map_lookup_elem(&pg_zero, &pg_zero_key);", 3);
      this.line("if (pg_zero_value)", 3);
      this.line(`bpf_map_update_elem(&${m.name}, &${key}, pg_zero_value, BPF_NOEXIST);`, 4);
      this.line(`pg_v = bpf_map_lookup_elem(&${m.name}, &${key});`, 3);
      this.line("}", 2);
    }
    this.line("if (pg_v)", 2);
    this.line(perCpu ? "pg_v->slots[pg_slot] += 1;" : "__sync_fetch_and_add(&pg_v->slots[pg_slot], 1);", 3);
  }

  /**
   * Declares `name` as the key or value type and fills it from the expressions; returns the C
   * lvalue that holds it: `name` on the stack, or `(*name)` in its per-CPU buffer.
   */
  private composite(name: string, value: IrComposite, buffer: IrMap | undefined): string {
    if (buffer) return this.buffered(name, value, buffer);
    if (value.kind === "struct") {
      this.line(`struct ${value.struct.cName} ${name};`, 2);
      this.line(`__builtin_memset(&${name}, 0, sizeof(${name}));`, 2);
      for (const { member, expr } of value.members) this.assign(`${name}.${member.name}`, member.type, expr);
      return name;
    }
    const s = value.type;
    if (s.kind === "string_list") throw new Error("a list of strings in a map");
    if (s.kind === "string" || s.kind === "array") {
      this.line(`${cDeclaration(s, name)};`, 2);
      this.line(`__builtin_memset(${name}, 0, sizeof(${name}));`, 2);
    } else {
      this.line(`${cScalarType(s)} ${name};`, 2);
    }
    this.assign(name, s, value.expr);
    return name;
  }

  /** A key or value too big for the stack, built in entry 0 of its per-CPU buffer after a copy of the zeroed entry 1. */
  private buffered(name: string, value: IrComposite, buffer: IrMap): string {
    const pointer = `(*${name})`;
    this.line(`__u32 ${name}_slot = 0, ${name}_zeroed = 1;`, 2);
    const decl = value.kind === "struct" ? `struct ${value.struct.cName} *${name}` : cDeclaration(value.type, pointer);
    this.line(`${decl} = bpf_map_lookup_elem(&${buffer.name}, &${name}_slot);`, 2);
    this.line(`void *${name}_zero = bpf_map_lookup_elem(&${buffer.name}, &${name}_zeroed);`, 2);
    this.line(`if (!${name} || !${name}_zero)`, 2);
    this.leave(3);
    this.line(copyBytes(name, `${name}_zero`, mapTypeSize(buffer.value!)), 2);
    if (value.kind === "struct") {
      for (const { member, expr } of value.members) this.assign(`${name}->${member.name}`, member.type, expr);
    } else {
      this.assign(pointer, value.type, value.expr);
    }
    return pointer;
  }

  private assign(dst: string, type: ScalarOrString, expr: IrExpr): void {
    if (type.kind === "string") {
      // The resolver admits only captured values here (not literals or arithmetic).
      if (expr.kind !== "value") throw new Error("a string key or value that is not a captured value");
      this.readInto(expr.source, dst, type.size, 2);
    } else if (type.kind === "array") {
      if (expr.kind !== "value") throw new Error("an array key or value that is not a captured value");
      this.line(readArray(expr.source, dst, sizeOf(type)), 2);
    } else if (type.kind === "string_list") {
      throw new Error("a list of strings in a map");
    } else {
      this.line(`${dst} = (${cScalarType(type)})${printOperand(expr, noStrings)};`, 2);
    }
  }

  /** Update conditions may compare strings held in the stash (others are refused by the resolver). */
  private readonly stashedStrings = (e: IrExpr & { kind: "value" }): { array: string; size: number } => {
    if (e.source.kind === "stashed") return { array: `${locals.stash}->${e.source.member}`, size: stringSize(e) };
    if (e.source.kind === "builtin" && e.source.name === "comm") throw new Error("comm in an update condition");
    throw new Error("string in an update condition");
  };

  /** For ScratchStrings. */
  emit(text: string): void {
    this.line(text);
  }
}

const noStrings = (): never => {
  throw new Error("string comparisons are not allowed in map keys and values");
};

/** Where each string in a filter lives: the event's copy, the stash, or a stack buffer. */
class ScratchStrings {
  private readonly buffers: Array<{ name: string; source: ValueSource; size: number }> = [];
  constructor(private readonly writer: BodyWriter, private readonly fields: IrField[]) {}

  home(e: IrExpr & { kind: "value" }, bytes: number): { array: string; size: number } {
    if (e.source.kind === "stashed") return { array: `${locals.stash}->${e.source.member}`, size: stringSize(e) };
    const field = this.fields.find((f) => sameSource(f.source, e.source) && f.type.kind === "string");
    if (field) return { array: `e->${field.name}`, size: stringSize(field) };
    // Only the bytes the comparisons read are read onto the 512-byte stack; never more than
    // the string's own size.
    const size = Math.min(stringSize(e), bytes);
    let buffer = this.buffers.find((b) => sameSource(b.source, e.source));
    if (!buffer) {
      buffer = { name: `pg_str${this.buffers.length}`, source: e.source, size };
      this.buffers.push(buffer);
    }
    buffer.size = Math.max(buffer.size, size);
    return { array: buffer.name, size };
  }

  declare(): void {
    for (const b of this.buffers) {
      this.writer.emit(`char ${b.name}[${b.size}];`);
      this.writer.readInto(b.source, b.name, b.size);
    }
  }
}

function stringSize(v: { type: ScalarOrString }): number {
  return (v.type as { size: number }).size;
}

/** The integer a lookup reads from a map's value (the typer admits no other). */
function scalarOf(t: IrMapType): IntType | BoolType {
  if (t.kind !== "scalar" || (t.scalar.kind !== "int" && t.scalar.kind !== "bool")) throw new Error("a map lookup of a value that is not a number");
  return t.scalar;
}

function sameSource(a: ValueSource, b: ValueSource): boolean {
  return sourceKey(a) === sourceKey(b);
}

function isString(source: ValueSource): boolean {
  switch (source.kind) {
    case "builtin": return source.name === "comm";
    case "kprobe-arg": return source.read !== "int";
    case "retval": return source.read !== undefined;
    case "tracepoint-field": return !["int", "pointer", "array", "user_string_list"].includes(source.field.access.kind);
    case "stashed": return isString(source.inner);
    default: return false;
  }
}

function isComm(source: ValueSource): boolean {
  return source.kind === "builtin" && source.name === "comm";
}

/** Replaces each restore marker with a #line naming the real next line of the C file. */
function restoreLines(text: string, cFile: string): string {
  // A restore right before another #line says nothing: drop it first, then number the rest.
  const lines = text.split("\n").filter((l, i, all) => !(l === RESTORE_LINE && all[i + 1]?.startsWith("#line ")));
  return lines.map((l, i) => (l === RESTORE_LINE ? `#line ${i + 2} ${cStringLiteral(cFile)}` : l)).join("\n");
}
