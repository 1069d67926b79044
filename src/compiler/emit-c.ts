/**
 * Emit C: the IR rendered through templates/probe.bpf.c.hbs. Declarations follow the layout
 * pass and are proved by _Static_assert; user-derived statements carry #line directives so
 * clang (and the verifier's source lines) point at the spec.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { locals, needsPidTgid, needsUidGid, printExpr, readString, scalarValue } from "./c-expr.js";
import type { SourceSpan } from "./diagnostics.js";
import type { IrExpr, IrField, IrMap, IrProbe, IrProgram, ValueSource } from "./ir.js";
import type { TracepointFormat } from "./kernel/tracefs.js";
import type { StructLayout } from "./layout.js";
import { packageRoot, version } from "./package-info.js";
import { cScalarType, type ScalarOrString } from "./types.js";

let template: Handlebars.TemplateDelegate | undefined;

function probeTemplate(): Handlebars.TemplateDelegate {
  template ??= Handlebars.compile(readFileSync(`${packageRoot}/templates/probe.bpf.c.hbs`, "utf8"), {
    noEscape: true,
    strict: true,
  });
  return template;
}

const RESTORE_LINE = "#line __PG_RESTORE__";

/** `cFile` is the path clang compiles (for #line directives that return to it). */
export function emitC(probe: IrProbe, cFile: string): string {
  const structs = [
    ...probe.events.map((e) => ({ title: `Event '${e.name}'.`, ...structView(e.cName, e.layout) })),
    ...probe.maps.flatMap((m) =>
      (["key", "value"] as const)
        .map((role) => m[role]?.struct)
        .filter((s) => s !== undefined)
        .map((s) => ({ title: `Map '${m.name}' ${s.cName.endsWith("_key") ? "key" : "value"}.`, ...structView(s.cName, s.layout) })),
    ),
  ];
  const text = probeTemplate()({
    version,
    source: probe.source,
    license: probe.license,
    usesPtRegs: probe.usesPtRegs,
    hasRing: probe.maps.some((m) => m.kind === "ringbuf"),
    contexts: uniqueContexts(probe).map(contextView),
    structs,
    maps: probe.maps.map(mapView),
    programs: probe.programs.map((p) => programView(p, probe.source)),
  });
  return restoreLines(text, cFile);
}

function structView(cName: string, layout: StructLayout) {
  return {
    cName,
    members: layout.members.map((m) => ({ decl: declare(m.type, m.name) })),
    asserts: [
      `_Static_assert(sizeof(struct ${cName}) == ${layout.size}, "probegen layout: size of ${cName}");`,
      ...layout.members.map((m) => `_Static_assert(__builtin_offsetof(struct ${cName}, ${m.name}) == ${m.offset}, "probegen layout: ${cName}.${m.name}");`),
    ],
  };
}

function declare(type: ScalarOrString, name: string): string {
  return type.kind === "string" ? `char ${name}[${type.size}]` : `${cScalarType(type)} ${name}`;
}

function contextName(f: TracepointFormat): string {
  return `pg_ctx_${f.category}__${f.name}`;
}

function uniqueContexts(probe: IrProbe): TracepointFormat[] {
  const seen = new Map<string, TracepointFormat>();
  for (const p of probe.programs) if (p.attach.kind === "tracepoint") seen.set(contextName(p.attach.format), p.attach.format);
  return [...seen.values()];
}

/** The tracepoint record as a struct, fields placed at tracefs's offsets with explicit padding. */
function contextView(format: TracepointFormat) {
  const cName = contextName(format);
  const members: Array<{ decl: string }> = [];
  const asserts: string[] = [];
  let at = 0;
  let pad = 0;
  for (const f of [...format.fields].sort((a, b) => a.offset - b.offset)) {
    if (f.offset < at) continue; // overlapping fields (unions) are not read by us
    if (f.offset > at) members.push({ decl: `__u8 pg_pad${pad++}[${f.offset - at}]` });
    const storage =
      f.access.kind === "char_array" ? `char ${f.name}[${f.size}]`
      : f.size === 1 || f.size === 2 || f.size === 4 || f.size === 8 ? `__${f.signed ? "s" : "u"}${f.size * 8} ${f.name}`
      : `__u8 ${f.name}[${f.size}]`;
    members.push({ decl: storage });
    asserts.push(`_Static_assert(__builtin_offsetof(struct ${cName}, ${f.name}) == ${f.offset}, "tracefs format: ${format.category}/${format.name} ${f.name}");`);
    at = f.offset + f.size;
  }
  // The struct is packed only in the sense that we place every member ourselves.
  return { cName, title: `tracepoint ${format.category}/${format.name}`, members, asserts };
}

const mapTypes: Record<IrMap["kind"], string> = {
  ringbuf: "BPF_MAP_TYPE_RINGBUF", hash: "BPF_MAP_TYPE_HASH", lru_hash: "BPF_MAP_TYPE_LRU_HASH",
  percpu_hash: "BPF_MAP_TYPE_PERCPU_HASH", lru_percpu_hash: "BPF_MAP_TYPE_LRU_PERCPU_HASH",
  array: "BPF_MAP_TYPE_ARRAY", percpu_array: "BPF_MAP_TYPE_PERCPU_ARRAY",
};

function mapView(m: IrMap) {
  const typeOf = (t: IrMap["key"]) => (!t ? undefined : t.struct ? `struct ${t.struct.cName}` : t.scalar!.kind === "string" ? `char[${t.size}]` : cScalarType(t.scalar as never));
  return { name: m.name, type: mapTypes[m.kind], maxEntries: m.maxEntries, key: typeOf(m.key), value: typeOf(m.value) };
}

// ---- program bodies -----------------------------------------------------------------------

function programView(p: IrProgram, source: string) {
  const context = p.attach.kind === "tracepoint" ? `struct ${contextName(p.attach.format)}` : "struct pt_regs";
  const title = p.attach.kind === "tracepoint" ? `tracepoint ${p.attach.category}/${p.attach.name}` : `${p.attach.kind} ${p.attach.function}`;
  return { name: p.name, section: p.section, title, context, body: new BodyWriter(p, source).write() };
}

class BodyWriter {
  private readonly lines: string[] = [];
  constructor(private readonly p: IrProgram, private readonly source: string) {}

  private line(text: string, depth = 1): void {
    this.lines.push(`${"\t".repeat(depth)}${text}`);
  }

  /** Marks the following statement as coming from the spec at `span`. */
  private at(span: SourceSpan): void {
    this.lines.push(`#line ${span.line} "${cString(this.source)}"`);
  }

  private back(): void {
    this.lines.push(RESTORE_LINE);
  }

  write(): string[] {
    const { p } = this;
    const sources: ValueSource[] = [...(p.event?.fields.map((f) => f.source) ?? []), ...(p.filter ? valuesIn(p.filter) : [])];
    if (sources.some(needsPidTgid)) this.line(`__u64 ${locals.pidTgid} = bpf_get_current_pid_tgid();`);
    if (sources.some(needsUidGid)) this.line(`__u64 ${locals.uidGid} = bpf_get_current_uid_gid();`);
    // A filter runs before the ring buffer reservation unless it compares a long string the
    // event captures anyway: then it reads the event's copy rather than reading it twice.
    const captured = p.event?.fields ?? [];
    const late = p.filter !== undefined && valuesIn(p.filter).some((v) => isString(v) && !isComm(v) && captured.some((f) => sameSource(f.source, v)));
    if (p.filter && !late) this.earlyFilter(p.filter);
    if (p.event && p.output) this.emitEvent(p, late);
    this.line("return 0;");
    return this.lines;
  }

  private earlyFilter(filter: IrExpr): void {
    const scratch = new ScratchStrings(this, []);
    const printed = printExpr(filter, scratch.home.bind(scratch));
    scratch.declare();
    this.at(filter.span);
    this.line(`if (!${wrap(printed)})`);
    this.line("return 0;", 2);
    this.back();
  }

  private emitEvent(p: IrProgram, lateFilter: boolean): void {
    const event = p.event!;
    const ring = p.output!.name;
    this.line(`struct ${event.cName} *e = bpf_ringbuf_reserve(&${ring}, sizeof(*e), 0);`);
    this.line("if (!e) {");
    this.line("pg_count_drop();", 2);
    this.line("return 0;", 2);
    this.line("}");
    if (event.tag !== undefined) this.line(`e->pg_type = ${event.tag};`);
    for (const f of event.fields) this.capture(f);
    if (lateFilter) {
      const scratch = new ScratchStrings(this, event.fields);
      const home = scratch.home.bind(scratch);
      const printed = printExpr(p.filter!, home);
      scratch.declare();
      this.at(p.filter!.span);
      this.line(`if (!${wrap(printed)}) {`);
      this.line("bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);", 2);
      this.line("return 0;", 2);
      this.line("}");
      this.back();
    }
    this.line(`bpf_ringbuf_submit(e, pg_wakeup_flags(&${ring}));`);
  }

  private capture(f: IrField): void {
    this.at(f.span);
    if (f.type.kind === "string") this.line(readString(f.source, `e->${f.name}`, f.type.size));
    else this.line(`e->${f.name} = ${scalarValue(f.source, f.type)};`);
    this.back();
  }

  /** For ScratchStrings. */
  emit(text: string): void {
    this.line(text);
  }
}

/** Where each string in a filter lives: the event's copy when it captured it, else a stack buffer. */
class ScratchStrings {
  private readonly buffers: Array<{ name: string; source: ValueSource; size: number }> = [];
  constructor(private readonly writer: BodyWriter, private readonly fields: IrField[]) {}

  home(e: IrExpr & { kind: "value" }): string {
    const size = (e.type as { size: number }).size;
    const field = this.fields.find((f) => sameSource(f.source, e.source) && f.type.kind === "string");
    if (field) return `e->${field.name}`;
    let buffer = this.buffers.find((b) => sameSource(b.source, e.source));
    if (!buffer) {
      buffer = { name: `pg_str${this.buffers.length}`, source: e.source, size };
      this.buffers.push(buffer);
    }
    return buffer.name;
  }

  declare(): void {
    for (const b of this.buffers) {
      this.writer.emit(`char ${b.name}[${b.size}];`);
      this.writer.emit(readString(b.source, b.name, b.size));
    }
  }
}

function sameSource(a: ValueSource, b: ValueSource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function valuesIn(e: IrExpr): ValueSource[] {
  switch (e.kind) {
    case "value": return [e.source];
    case "unary": return valuesIn(e.operand);
    case "binary": return [...valuesIn(e.left), ...valuesIn(e.right)];
    default: return [];
  }
}

function isString(source: ValueSource): boolean {
  if (source.kind === "builtin") return source.name === "comm";
  if (source.kind === "kprobe-arg") return source.read !== "int";
  if (source.kind === "tracepoint-field") return source.field.access.kind !== "int" && source.field.access.kind !== "pointer";
  return false;
}

function isComm(source: ValueSource): boolean {
  return source.kind === "builtin" && source.name === "comm";
}

function wrap(expr: string): string {
  return expr.startsWith("(") && expr.endsWith(")") ? expr : `(${expr})`;
}

function cString(text: string): string {
  return text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, "?");
}

/** Replaces each restore marker with a #line naming the real next line of the C file. */
function restoreLines(text: string, cFile: string): string {
  // A restore right before another #line says nothing: drop it first, then number the rest.
  const lines = text.split("\n").filter((l, i, all) => !(l === RESTORE_LINE && all[i + 1]?.startsWith("#line ")));
  return lines.map((l, i) => (l === RESTORE_LINE ? `#line ${i + 2} "${cString(cFile)}"` : l)).join("\n");
}

export type { ScalarOrString };
