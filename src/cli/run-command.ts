/**
 * `probegen run SPEC`: build into a temporary directory, transpile the loader, import it, load
 * and attach, print events until Ctrl-C or --duration, then detach and print the maps.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, BuildCache, packageRoot, type IrField, type IrMap, type IrMapType, type IrProbe, type IrStructMember } from "../compiler/index.js";
import { errnoName, kernelDrops } from "../runtime/index.js";
import { usageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { printDiagnostics } from "./output.js";
import { createRunDir } from "./run-dir.js";
import { formatTable, humanNs, parseDuration } from "./table.js";

export interface RunFlags {
  params: string[];
  duration?: string;
  json: boolean;
}

/** What the IR will say about runtime parameters (added by the params work). */
interface TypedMapLike {
  entries(): Iterable<[unknown, unknown]>;
}

interface LoadedProbe {
  events?: { on(listener: (e: Record<string, unknown>) => void): () => void; readonly dropped: number };
  maps?: Record<string, unknown>;
  object: {
    map(name: string): { valueSize: number; lookup(key: Uint8Array, value: Uint8Array): boolean };
    programInfo(): Array<{ name: string }>;
  };
  close(): void;
}

export async function runCommand(specPath: string, flags: RunFlags): Promise<number> {
  const durationMs = flags.duration === undefined ? undefined : parseDuration(flags.duration);
  if (flags.duration !== undefined && (durationMs === undefined || durationMs <= 0)) {
    throw usageError(`--duration '${flags.duration}' is not a duration`, "e.g. 500ms, 10s, 2m");
  }
  const runtime = join(packageRoot, "dist", "src", "runtime", "index.js");
  // Until the probe streams (and handles signals itself), a signal ends the run at once.
  const runDir = createRunDir();
  const dir = runDir.path;
  try {
    // 1. Build (nothing goes to generated/); the loader imports this package's compiled runtime.
    const [result] = await build([specPath], { outDir: dir, runtimeImport: pathToFileURL(runtime).href, cache: new BuildCache() });
    if (result!.diagnostics.length > 0) {
      printDiagnostics(result!.diagnostics);
      return ExitCode.SpecError;
    }
    const probe = result!.probe!;
    const params = parseParams(probe, flags.params);

    // 2. Transpile the loader and import it.
    const { ts } = await import("ts-morph");
    const tsPath = join(dir, `${probe.name}.ts`);
    const js = ts.transpileModule(await readFile(tsPath, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      fileName: tsPath,
    }).outputText;
    const jsPath = join(dir, `${probe.name}.mjs`);
    await writeFile(jsPath, js);
    const mod = (await import(pathToFileURL(jsPath).href)) as Record<string, (options?: object) => Promise<LoadedProbe>>;
    const load = mod[probe.ts.loader];
    if (typeof load !== "function") throw new Error(`generated loader has no ${probe.ts.loader}()`);

    // 3. Load and attach.
    let loaded: LoadedProbe;
    try {
      loaded = await load(Object.keys(params).length ? { params } : {});
    } catch (e) {
      if ((e as Error)?.name === "BpfError") throw e; // exit 4 with the runtime's explanation
      if (e instanceof RangeError || e instanceof TypeError) throw usageError((e as Error).message);
      throw e;
    }
    // stream() installs its own signal handlers before its first await; only then are the
    // directory's released, so the process is never without one (with none, a signal kills it).
    const streaming = stream(probe, loaded, flags, durationMs);
    runDir.releaseSignals();
    return await streaming;
  } finally {
    runDir.remove();
  }
}

function parseParams(probe: IrProbe, args: string[]): Record<string, number | bigint | boolean> {
  const declared = probe.params;
  const list = declared.length ? `declared: ${declared.map((p) => `${p.name} (${p.type.kind === "bool" ? "bool" : `${p.type.signed ? "i" : "u"}${p.type.size * 8}`})`).join(", ")}` : `${probe.source} declares no parameters`;
  const out: Record<string, number | bigint | boolean> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw usageError(`--param '${arg}' is not NAME=VALUE`, list);
    const name = arg.slice(0, eq);
    const text = arg.slice(eq + 1).trim();
    const p = declared.find((d) => d.name === name || d.tsName === name);
    if (!p) throw usageError(`unknown parameter '${name}'`, list);
    if (p.type.kind === "bool") {
      if (!/^(true|false|1|0|yes|no)$/i.test(text)) throw usageError(`--param ${name}: '${text}' is not a bool`, "use true or false");
      out[p.tsName] = /^(true|1|yes)$/i.test(text);
      continue;
    }
    let v: bigint;
    try {
      if (!/^[-+]?(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.test(text)) throw new Error();
      const neg = text.startsWith("-");
      v = BigInt(text.replace(/^[-+]/, ""));
      if (neg) v = -v;
    } catch {
      throw usageError(`--param ${name}: '${text}' is not an integer`);
    }
    const bits = BigInt(p.type.size * 8);
    const [min, max] = p.type.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
    if (v < min || v > max) throw usageError(`--param ${name}: ${text} does not fit in ${p.type.signed ? "i" : "u"}${bits}`, `range ${min}..${max}`);
    out[p.tsName] = p.type.size === 8 ? v : Number(v);
  }
  return out;
}

// ---- streaming -------------------------------------------------------------------------------

async function stream(probe: IrProbe, loaded: LoadedProbe, flags: RunFlags, durationMs: number | undefined): Promise<number> {
  const closed = new Set<"stdout" | "stderr">();
  const outputClosed = whenOutputCloses(closed);
  const printer = flags.json ? jsonPrinter() : new TablePrinter(probe);
  const unsubscribe = loaded.events?.on((e) => {
    if (!closed.has("stdout")) printer.event(e);
  });
  const programs = safe(() => loaded.object.programInfo().length, probe.programs.length);
  process.stderr.write(`Attached ${programs} program${programs === 1 ? "" : "s"} of ${probe.name}. ${durationMs ? `Running for ${flags.duration}` : "Ctrl-C to stop"}.\n`);

  let signals = 0;
  let keepAlive: NodeJS.Timeout | undefined;
  printer.start?.();
  const why = await new Promise<string>((resolve) => {
    const onSignal = (sig: string) => {
      if (++signals > 1) {
        process.stderr.write("probegen run: second signal, exiting without printing the maps\n");
        loaded.close();
        process.exit(130);
      }
      resolve(sig);
    };
    // `probegen run x.yaml | head`: the reader went away; detach as on Ctrl-C.
    void outputClosed.then(resolve);
    process.on("SIGINT", () => onSignal("SIGINT"));
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    if (durationMs) setTimeout(() => resolve("duration"), durationMs);
    // Signal listeners do not keep the event loop alive; a probe with only maps has no stream that does.
    keepAlive = setInterval(() => undefined, 1 << 30);
  });
  clearInterval(keepAlive);
  // Let the reader deliver what it already holds before detaching.
  await new Promise((r) => setTimeout(r, 30));
  unsubscribe?.();
  const snapshot = readMaps(probe, loaded);
  loaded.close();
  if (!closed.has("stdout")) printer.end(snapshot);
  if (!flags.json && !closed.has("stderr")) process.stderr.write(`Detached (${why === "duration" ? "duration over" : why}).\n`);
  return ExitCode.Ok;
}

/**
 * Resolves when a reader of stdout or stderr goes away (EPIPE), noting which in `closed`; the
 * run then ends as on Ctrl-C, writing nothing more to that stream, and exits 0.
 */
function whenOutputCloses(closed: Set<"stdout" | "stderr">): Promise<string> {
  return new Promise((resolve) => {
    for (const name of ["stdout", "stderr"] as const) {
      process[name].on("error", (e: NodeJS.ErrnoException) => {
        // Writes already queued fail too once the stream is closed; only a first non-EPIPE error is real.
        if (e.code !== "EPIPE" && !closed.has(name)) throw e;
        closed.add(name);
        resolve(`${name} closed`);
      });
    }
  });
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

interface MapSnapshot {
  name: string;
  ir?: IrMap;
  entries: Array<[unknown, unknown]>;
}

interface Snapshot {
  maps: MapSnapshot[];
  /** Ring buffer reserve failures in the kernel (the object's pg_drops counter). */
  kernelDrops?: bigint;
  /** Records the reader could not decode. */
  userDrops: number;
}

function readMaps(probe: IrProbe, loaded: LoadedProbe): Snapshot {
  const maps: MapSnapshot[] = [];
  for (const [tsName, m] of Object.entries(loaded.maps ?? {})) {
    const ir = probe.maps.find((x) => x.tsName === tsName);
    // A keyless map is one value: shown without a key, as bpftrace shows `@total`.
    if (ir?.keyless && typeof (m as { get?: unknown })?.get === "function") {
      const value = (m as { get(): unknown }).get(); // undefined: a min or max with no value yet
      maps.push({ name: ir.name, ir, entries: value === undefined ? [] : [[undefined, value]] });
      continue;
    }
    if (!m || typeof (m as TypedMapLike).entries !== "function") continue;
    maps.push({ name: ir?.name ?? tsName, ir, entries: [...(m as TypedMapLike).entries()] });
  }
  const drops = kernelDrops(loaded.object);
  return { maps, kernelDrops: drops === undefined ? undefined : BigInt(drops), userDrops: loaded.events?.dropped ?? 0 };
}

// ---- values ------------------------------------------------------------------------------------

const wallOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** A field's value as a person reads it: errno names, times, addresses. */
function display(field: IrField | undefined, value: unknown): string {
  if (value === undefined || value === null) return "";
  const kind = (field?.source as { kind: string } | undefined)?.kind;
  if (kind === "builtin" && (field!.source as { name: string }).name === "ktime" && (typeof value === "bigint" || typeof value === "number")) {
    const ns = (typeof value === "bigint" ? value : BigInt(Math.round(value))) + wallOffsetNs; // a number: the spec's `as: number`
    const wall = new Date(Number(ns / 1_000_000n));
    return `${wall.toTimeString().slice(0, 8)}.${String(Number((ns / 1000n) % 1_000_000n)).padStart(6, "0")}`;
  }
  if (kind === "latency") return humanNs(Number(value));
  if (kind === "errno" && Number(value) > 0) return errnoName(Number(value));
  const isRet = kind === "retval" || (field && /^(ret|retval|rc|err|error)$/.test(field.name));
  if (isRet && (typeof value === "number" || typeof value === "bigint") && value < 0 && value >= -4095) return `-${errnoName(-Number(value))}`;
  if (kind === "tracepoint-field" && (field!.source as { field: { access: { kind: string } } }).field.access.kind === "pointer" && field!.type.kind === "int" && field!.type.size === 8) {
    return `0x${BigInt.asUintN(64, BigInt(value as bigint)).toString(16)}`;
  }
  if (field?.name === "flags" && kind === "tracepoint-field" && typeof value === "number" && /^sys_enter_open/.test(attachName(field))) return openFlags(value);
  if (typeof value === "string") return JSON.stringify(value).slice(1, -1);
  if (typeof value === "object") return jsonText(value);
  return String(value);
}

let attachOf = new Map<IrField, string>();
function attachName(f: IrField): string {
  return attachOf.get(f) ?? "";
}

const O_FLAGS: Array<[number, string]> = [
  [0o100, "O_CREAT"], [0o200, "O_EXCL"], [0o400, "O_NOCTTY"], [0o1000, "O_TRUNC"], [0o2000, "O_APPEND"], [0o4000, "O_NONBLOCK"],
  [0o10000, "O_DSYNC"], [0o20000, "O_ASYNC"], [0o40000, "O_DIRECT"], [0o200000, "O_DIRECTORY"], [0o400000, "O_NOFOLLOW"],
  [0o1000000, "O_NOATIME"], [0o2000000, "O_CLOEXEC"], [0o10000000, "O_PATH"], [0o20000000, "O_TMPFILE"],
];

/** open(2) flags as a person writes them: O_WRONLY|O_CREAT|O_CLOEXEC. */
function openFlags(v: number): string {
  const parts = [["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][v & 3]!];
  let rest = v & ~3;
  for (const [bit, name] of O_FLAGS) {
    if (name === "O_TMPFILE" ? (rest & bit) === bit : rest & bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.join("|");
}

function jsonText(value: unknown): string {
  // Bytes (u8[N]) print as an array of numbers, as bpftrace prints them.
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v instanceof Uint8Array ? [...v] : v));
}

function defaultWidth(field: IrField): number {
  const t = field.type;
  if (t.kind === "bool") return 5;
  if (t.kind === "string") return Math.min(t.size - 1, 16);
  if ((field.source as { kind: string }).kind === "builtin" && (field.source as { name: string }).name === "ktime") return 15;
  if (t.kind === "array") return Math.min(t.length * ({ 1: 4, 2: 6, 4: 11, 8: 21 }[t.element.size]), 40);
  return { 1: 4, 2: 6, 4: 7, 8: 12 }[t.size];
}

interface Printer {
  start?(): void;
  event(e: Record<string, unknown>): void;
  end(s: Snapshot): void;
}

function jsonPrinter(): Printer {
  return {
    event: (e) => process.stdout.write(jsonText(e) + "\n"),
    end: (s) => {
      const maps = Object.fromEntries(s.maps.map((m) => [m.name, m.entries.map(([k, v]) => ({ key: k, value: typeof (v as { render?: unknown })?.render === "function" ? { ...(v as object) } : v }))]));
      // Drop counts exist only for a probe with a ring buffer (its pg_drops counter).
      const drops = s.kernelDrops === undefined ? {} : { drops: { kernel: s.kernelDrops, userspace: s.userDrops } };
      process.stdout.write(jsonText({ maps, ...drops }) + "\n");
    },
  };
}

/** Aligned rows; columns are the events' fields (one EVENT column when a buffer carries several types). */
class TablePrinter implements Printer {
  private readonly columns: Array<{ title: string; tsName: string; fields: Map<string, IrField>; width: number }> = [];
  private readonly multi: boolean;

  constructor(probe: IrProbe) {
    const events = probe.events;
    attachOf = new Map(probe.programs.flatMap((p) => (p.event?.fields ?? []).map((f) => [f, p.attach.kind === "tracepoint" ? p.attach.name : ""] as [IrField, string])));
    this.multi = events.length > 1;
    const p = (f: IrField) => f.source.kind === "tracepoint-field";
    if (this.multi) this.columns.push({ title: "EVENT", tsName: "type", fields: new Map(), width: Math.max(5, ...events.map((e) => e.name.length)) });
    // Fixed-width values first, long strings (paths) last, so rows stay aligned as they stream.
    const long = (f: IrField) => f.type.kind === "string" && f.type.size > 16;
    for (const e of events) {
      for (const f of [...e.fields.filter((x) => !long(x)), ...e.fields.filter(long)]) {
        let col = this.columns.find((c) => c.tsName === f.tsName);
        if (!col) {
          col = { title: f.name.toUpperCase(), tsName: f.tsName, fields: new Map(), width: 0 };
          this.columns.push(col);
        }
        col.fields.set(e.name, f);
        const openFlags = f.name === "flags" && p(f) && /^sys_enter_open/.test(attachName(f));
        col.width = Math.max(col.width, col.title.length, openFlags ? 18 : defaultWidth(f));
      }
    }
  }

  private line(cells: string[]): string {
    return cells.map((c, i) => {
      if (i === cells.length - 1) return c;
      // Widths are fixed when the header is printed: a wider value shifts its own row only.
      return c.padEnd(this.columns[i]!.width);
    }).join(" ").trimEnd();
  }

  start(): void {
    if (this.columns.length) process.stdout.write(this.line(this.columns.map((c) => c.title)) + "\n");
  }

  event(e: Record<string, unknown>): void {
    const type = typeof e.type === "string" ? e.type : undefined;
    const cells = this.columns.map((c) => {
      if (c.tsName === "type" && this.multi) return String(e.type ?? "");
      const f = type ? c.fields.get(type) : c.fields.values().next().value;
      if (type && !f) return "";
      return display(f, e[c.tsName]);
    });
    process.stdout.write(this.line(cells) + "\n");
  }

  end(s: Snapshot): void {
    const out: string[] = [];
    for (const m of s.maps) {
      out.push("", `@${m.name}${m.entries.length === 0 ? ": (empty)" : ":"}`);
      if (m.entries.length === 0) continue;
      const renderable = m.entries.every(([, v]) => typeof (v as { render?: unknown })?.render === "function");
      const sorted = [...m.entries].sort(([, a], [, b]) => compare(a, b));
      if (renderable) {
        for (const [k, v] of sorted) {
          if (m.entries.length > 1 || (k !== 0 && k !== undefined)) out.push(`${keyText(k)}:`);
          out.push(String((v as { render(): string }).render()));
        }
        continue;
      }
      if (m.ir?.keyless) {
        const value = m.entries[0]![1];
        const cols = columnsOf(value, "value", structMembers(m.ir.value));
        const cells = cellsOf(value, cols);
        out[out.length - 1] += ` ${cols.length === 1 && cols[0]!.key === undefined ? cells[0] : cols.map((c, i) => `${c.title.toLowerCase()}=${cells[i]}`).join(" ")}`;
        continue;
      }
      const limit = 50;
      const shown = sorted.slice(-limit);
      const keyCols = columnsOf(m.entries[0]![0], "key", structMembers(m.ir?.key));
      const valueCols = columnsOf(m.entries[0]![1], "value", structMembers(m.ir?.value));
      const rows = shown.map(([k, v]) => [...cellsOf(k, keyCols), ...cellsOf(v, valueCols)]);
      if (sorted.length > limit) out.push(`  ... ${sorted.length - limit} smaller entries not shown`);
      out.push(formatTable([...keyCols.map((c) => c.title), ...valueCols.map((c) => c.title)], rows));
    }
    if (s.kernelDrops !== undefined || s.userDrops > 0) {
      out.push("", `Dropped: ${s.kernelDrops ?? 0n} event${s.kernelDrops === 1n ? "" : "s"} (ring buffer full in the kernel)${s.userDrops ? `, ${s.userDrops} undecodable` : ""}`);
    }
    process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
  }
}

/** Ascending, so the biggest value is printed last, next to the prompt (like bpftrace). */
function compare(a: unknown, b: unknown): number {
  const n = (v: unknown): number | bigint | undefined => (typeof v === "number" || typeof v === "bigint" ? v : undefined);
  const x = n(a);
  const y = n(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  return jsonText(a).localeCompare(jsonText(b));
}

function structMembers(t: IrMapType | undefined): IrStructMember[] | undefined {
  return t?.kind === "struct" ? t.struct.members : undefined;
}

function columnsOf(sample: unknown, role: string, members?: Array<{ name: string; tsName: string }>): Array<{ title: string; key?: string }> {
  if (sample !== null && typeof sample === "object" && !Array.isArray(sample)) {
    return Object.keys(sample).map((k) => ({ title: (members?.find((m) => m.tsName === k)?.name ?? k).toUpperCase(), key: k }));
  }
  return [{ title: role.toUpperCase() }];
}

function cellsOf(v: unknown, cols: Array<{ key?: string }>): string[] {
  return cols.map((c) => {
    const x = c.key !== undefined ? (v as Record<string, unknown>)[c.key] : v;
    return typeof x === "string" ? x : typeof x === "object" ? jsonText(x) : String(x);
  });
}

function keyText(k: unknown): string {
  return typeof k === "object" ? jsonText(k) : String(k);
}
