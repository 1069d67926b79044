/**
 * `probegen run SPEC`: build into a temporary directory, transpile the loader, import it, load
 * and attach, print events until Ctrl-C or --duration, then detach and print the maps.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, BuildCache, packageRoot, tsNames, typeName, type IrField, type IrProbe } from "../compiler/build-api.js";
import { clockOffsetNs, errnoName, isStackTrace, parseListenAddress, serveMetrics, Symbolizer, type ListenAddress, type MetricSource, type MetricsServer, type StackNamer } from "../runtime/index.js";
import { usageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatMaps, intervalHeader, jsonMaps, jsonText, readMaps, stackFrames, withFrames, type ReportOptions, type Snapshot } from "./map-report.js";
import { printDiagnostics, useColor } from "./output.js";
import { dropsOf } from "./drops.js";
import { createRunDir } from "./run-dir.js";
import { prepareStackFiles, usesStacks, writeStackFiles } from "./stack-files.js";
import { humanNs, parseDuration } from "./table.js";

export interface RunFlags {
  params: string[];
  duration?: string;
  json: boolean;
  /** Print the maps every TIME (e.g. 1s), not only at the end. */
  interval?: string;
  /** Empty the maps after each interval's print. */
  clear?: boolean;
  /** Print only the N largest entries of each map. */
  top?: string;
  /** The network interface XDP and tc programs attach to. */
  interface?: string;
  /** The cgroup v2 directory cgroup_skb programs attach to. */
  cgroup?: string;
  /** Attach programs whose actions drop traffic (refused without it). */
  allowDrop?: boolean;
  /** Serve the metric maps for Prometheus at [HOST]:PORT while the probe runs. */
  metrics?: string;
  /** The process uprobes fire for (default: every process), as typed. */
  pid?: string;
  /** Write the maps counted by stacks as folded stacks to this file when the run ends. */
  folded?: string;
  /** Write them as an SVG flame graph to this file when the run ends. */
  flamegraph?: string;
}

interface LoadedProbe {
  events?: { on(listener: (e: Record<string, unknown>) => void): () => void; readonly dropped: number };
  maps?: Record<string, unknown>;
  object: {
    map(name: string): { valueSize: number; lookup(key: Uint8Array, value: Uint8Array): boolean };
    programInfo(): Array<{ name: string }>;
    attachments(): Array<{ program: string; target: string; on?: string; mode: string }>;
  };
  close(): void;
}

/** `--pid N`: a process id as the runtime takes it (the runtime checks its range). */
function processId(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw usageError(`--pid takes a process id, not '${text}'`, "e.g. --pid $(pgrep -n bash)");
  return Number(text);
}

export async function runCommand(specPath: string, flags: RunFlags): Promise<number> {
  const durationMs = durationFlag("--duration", flags.duration);
  const view = viewFlags(flags);
  const metricsAt = metricsFlag(flags.metrics);
  const pid = flags.pid === undefined ? undefined : processId(flags.pid);
  const runtime = join(packageRoot, "dist", "src", "runtime", "index.js");
  // Until the probe streams (and handles signals itself), a signal ends the run at once.
  const runDir = createRunDir();
  const dir = runDir.path;
  try {
    // 1. Build (nothing goes to generated/); the loader imports this package's compiled runtime.
    const cache = new BuildCache();
    const [result] = await build([specPath], { outDir: dir, runtimeImport: pathToFileURL(runtime).href, cache });
    if (result!.diagnostics.length > 0) {
      printDiagnostics(result!.diagnostics);
      return ExitCode.SpecError;
    }
    const probe = result!.probe!;
    const params = parseParams(probe, flags.params);
    if (metricsAt && !probe.maps.some((m) => m.metric)) {
      throw usageError(`--metrics: ${probe.source} marks no map as a metric`, "add 'metric: true' to a map of counts, sums or a histogram (docs/spec.md, Metrics)");
    }
    await prepareStackFiles(probe, flags);
    // Stacks print as frames: named by one symbolizer for the whole run (its caches are per file and pid).
    if (usesStacks(probe)) view.stacks = new Symbolizer();
    const drops = await dropsOf(probe);
    if (drops && !flags.allowDrop) {
      throw usageError(`${probe.source} ${drops.text}; probegen run attaches it only when asked, since a wrong condition on a real interface can cut this machine off`,
        "check its actions (probegen check shows them), then run again with --allow-drop");
    }

    // 2. Transpile the loader (or take it from the cache) and import it.
    const js = await cache.transpiled(await readFile(join(dir, `${probe.name}.ts`)));
    const jsPath = join(dir, `${probe.name}.mjs`);
    await writeFile(jsPath, js);
    const mod = (await import(pathToFileURL(jsPath).href)) as Record<string, (options?: object) => Promise<LoadedProbe>>;
    const load = mod[probe.ts.loader];
    if (typeof load !== "function") throw new Error(`generated loader has no ${probe.ts.loader}()`);

    // 3. Load and attach.
    let loaded: LoadedProbe;
    try {
      loaded = await load({
        ...(Object.keys(params).length ? { params } : {}),
        ...(flags.interface !== undefined ? { interface: flags.interface } : {}),
        ...(flags.cgroup !== undefined ? { cgroup: flags.cgroup } : {}),
        ...(pid !== undefined ? { pid } : {}),
      });
    } catch (e) {
      if ((e as Error)?.name === "BpfError") throw e; // exit 4 with the runtime's explanation
      if (e instanceof RangeError || e instanceof TypeError) throw usageError((e as Error).message);
      throw e;
    }
    let server: MetricsServer | undefined;
    if (metricsAt) {
      try {
        server = await serveMetrics(loaded as unknown as MetricSource, metricsAt);
      } catch (e) {
        loaded.close();
        throw usageError((e as Error).message, "choose another with --metrics HOST:PORT (9464 is Prometheus's registered port for such exporters)");
      }
    }
    // stream() installs its own signal handlers before its first await; only then are the
    // directory's released, so the process is never without one (with none, a signal kills it).
    const streaming = stream(probe, loaded, flags, durationMs, view, server);
    runDir.releaseSignals();
    return await streaming;
  } finally {
    runDir.remove();
  }
}

/** `--metrics :9464` or HOST:PORT; a usage error for anything else. */
function metricsFlag(text: string | undefined): ListenAddress | undefined {
  if (text === undefined) return undefined;
  const address = parseListenAddress(text);
  if (!address) throw usageError(`--metrics '${text}' is not [HOST]:PORT`, "e.g. --metrics :9464 (every address) or --metrics 127.0.0.1:9464");
  return address;
}

/** A positive duration flag in milliseconds (undefined when not given); anything else is a usage error. */
function durationFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw usageError(`${flag} '${text}' is not a duration`, "e.g. 500ms, 10s, 2m (a bare number is seconds)");
  return ms;
}

/** How the maps are shown: every --interval (cleared with --clear), the --top N entries. */
interface MapView extends ReportOptions {
  intervalMs?: number;
  clear: boolean;
}

function viewFlags(flags: RunFlags): MapView {
  const intervalMs = durationFlag("--interval", flags.interval);
  if (flags.clear && intervalMs === undefined) throw usageError("--clear needs --interval", "e.g. --interval 1s --clear: print the maps every second, then empty them");
  let top: number | undefined;
  if (flags.top !== undefined) {
    top = /^\d+$/.test(flags.top.trim()) ? Number(flags.top) : NaN;
    if (!Number.isSafeInteger(top) || top < 1) throw usageError(`--top '${flags.top}' is not a positive integer`, "e.g. --top 10: the ten largest entries of each map");
  }
  return { intervalMs, clear: flags.clear ?? false, top, color: useColor(process.stdout) };
}

function parseParams(probe: IrProbe, args: string[]): Record<string, number | bigint | boolean | string> {
  const declared = probe.params;
  const list = declared.length ? `declared: ${declared.map((p) => `${p.name} (${typeName(p.type)})`).join(", ")}` : `${probe.source} declares no parameters`;
  const out: Record<string, number | bigint | boolean | string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw usageError(`--param '${arg}' is not NAME=VALUE`, list);
    const name = arg.slice(0, eq);
    const text = arg.slice(eq + 1).trim();
    const p = declared.find((d) => d.name === name || d.tsName === name);
    if (!p) throw usageError(`unknown parameter '${name}'`, list);
    if (p.type.kind === "string") {
      // As given, spaces included: `--param comm=` is the empty string.
      const value = arg.slice(eq + 1);
      const bytes = Buffer.byteLength(value, "utf8");
      if (bytes >= p.type.size) throw usageError(`--param ${name}: '${value}' takes ${bytes} bytes, and ${name} (${typeName(p.type)}) holds at most ${p.type.size - 1}`, "give a shorter string");
      if (value.includes("\0")) throw usageError(`--param ${name}: a string parameter cannot contain a NUL character`);
      out[p.tsName] = value;
      continue;
    }
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

async function stream(probe: IrProbe, loaded: LoadedProbe, flags: RunFlags, durationMs: number | undefined, view: MapView, server?: MetricsServer): Promise<number> {
  const closed = new Set<"stdout" | "stderr">();
  const outputClosed = whenOutputCloses(closed);
  const printer = flags.json ? jsonPrinter(view) : new TablePrinter(probe, view);
  const unsubscribe = loaded.events?.on((e) => {
    if (!closed.has("stdout")) printer.event(e);
  });
  const programs = safe(() => loaded.object.programInfo().length, probe.programs.length);
  const every = view.intervalMs === undefined ? "" : ` Maps every ${flags.interval}${view.clear ? ", cleared after each print" : ""}.`;
  process.stderr.write(`Attached ${programs} program${programs === 1 ? "" : "s"} of ${probe.name}. ${durationMs ? `Running for ${flags.duration}` : "Ctrl-C to stop"}.${every}\n`);
  for (const line of placements(probe, loaded)) process.stderr.write(`  ${line}\n`);
  if (server) process.stderr.write(`Serving metrics at ${server.url}${server.address.host ? "" : " (every address)"}\n`);

  let signals = 0;
  let keepAlive: NodeJS.Timeout | undefined;
  let periodic: NodeJS.Timeout | undefined;
  let timeUp: NodeJS.Timeout | undefined;
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
    if (durationMs) timeUp = setTimeout(() => resolve("duration"), durationMs);
    if (view.intervalMs !== undefined) {
      periodic = setInterval(() => {
        if (!closed.has("stdout")) printer.interval(readMaps(probe, loaded, { clear: view.clear }));
      }, view.intervalMs);
    }
    // Signal listeners do not keep the event loop alive; a probe with only maps has no stream that does.
    keepAlive = setInterval(() => undefined, 1 << 30);
  });
  clearInterval(keepAlive);
  clearInterval(periodic);
  // Ended by a signal: the --duration timer would keep the process alive until it fires.
  clearTimeout(timeUp);
  // Let the reader deliver what it already holds before detaching.
  await new Promise((r) => setTimeout(r, 30));
  unsubscribe?.();
  await server?.close();
  const snapshot = readMaps(probe, loaded);
  loaded.close();
  if (!closed.has("stdout")) printer.end(snapshot);
  const written = view.stacks ? await writeStackFiles(probe, snapshot, flags, view.stacks) : [];
  if (!closed.has("stderr")) for (const line of written) process.stderr.write(`${line}\n`);
  if (!flags.json && !closed.has("stderr")) process.stderr.write(`Detached (${why === "duration" ? "duration over" : why}).\n`);
  return ExitCode.Ok;
}

/** Where network programs went (an interface and how, a cgroup), and the socket filters run cannot attach. */
function placements(probe: IrProbe, loaded: LoadedProbe): string[] {
  const how: Record<string, string> = { tcx: "a tcx link", clsact: "a filter on the clsact qdisc", link: "a link", driver: "a link, in driver mode", generic: "a link, in generic mode" };
  const lines = safe(() => loaded.object.attachments(), []).filter((a) => a.on !== undefined)
    .map((a) => `${a.program}: ${a.target} on ${a.on}, as ${how[a.mode] ?? a.mode}`);
  const sockets = probe.programs.filter((p) => p.attach.kind === "socket").map((p) => p.name);
  if (sockets.length) lines.push(`${sockets.join(", ")}: socket filter${sockets.length > 1 ? "s" : ""}, loaded but not attached (an app attaches them to its sockets: probe.attachSocket(socket))`);
  return lines;
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

// ---- values ------------------------------------------------------------------------------------

/** A field's value as a person reads it: errno names, times, addresses (decoded values as the loader decoded them). */
function display(field: IrField | undefined, value: unknown, stacks?: StackNamer): string {
  if (value === undefined || value === null) return "";
  // A stack in a table cell: its frames innermost first, as far as the column shows them.
  if (isStackTrace(value)) return stacks ? stackFrames(value, stacks).join(" <- ") || "(no frames)" : value.addresses.map((a) => `0x${a.toString(16)}`).join(" <- ");
  if (value instanceof Date) return wallTime(BigInt(value.getTime()) * 1_000_000n, 3);
  if (field?.decode) return typeof value === "string" ? value : String(value);
  const kind = (field?.source as { kind: string } | undefined)?.kind;
  if (kind === "builtin" && (field!.source as { name: string }).name === "ktime" && (typeof value === "bigint" || typeof value === "number")) {
    const ns = (typeof value === "bigint" ? value : BigInt(Math.round(value))) + clockOffsetNs("monotonic"); // a number: the spec's `as: number`
    return wallTime(ns, 6);
  }
  if (kind === "latency") return humanNs(Number(value));
  if (kind === "errno" && Number(value) > 0) return errnoName(Number(value));
  const isRet = kind === "retval" || (field && /^(ret|retval|rc|err|error)$/.test(field.name));
  if (isRet && (typeof value === "number" || typeof value === "bigint") && value < 0 && value >= -4095) return `-${errnoName(-Number(value))}`;
  if (kind === "tracepoint-field" && (field!.source as { field: { access: { kind: string } } }).field.access.kind === "pointer" && field!.type.kind === "int" && field!.type.size === 8) {
    return `0x${BigInt.asUintN(64, BigInt(value as bigint)).toString(16)}`;
  }
  if (typeof value === "string") return JSON.stringify(value).slice(1, -1);
  // A list of strings (argv) reads as a command line, as a person would type it again.
  if (field?.type.kind === "string_list" && Array.isArray(value)) return value.map((v) => shellWord(display(undefined, v))).join(" ");
  if (typeof value === "object") return jsonText(value);
  return String(value);
}

/** A word of a command line: quoted when it is empty or holds spaces or quotes (`'b c'`, `''`). */
function shellWord(text: string): string {
  return text === "" || /[\s'"\\$`]/.test(text) ? `'${text.replace(/'/g, "'\\''")}'` : text;
}

/** `14:03:07.123456`: local time of day, `digits` of the fraction. */
function wallTime(epochNs: bigint, digits: 3 | 6): string {
  const wall = new Date(Number(epochNs / 1_000_000n));
  const fraction = digits === 6 ? (epochNs / 1000n) % 1_000_000n : (epochNs / 1_000_000n) % 1000n;
  return `${wall.toTimeString().slice(0, 8)}.${String(fraction).padStart(digits, "0")}`;
}

function defaultWidth(field: IrField): number {
  const t = field.type;
  if (field.decode) return { symbolic: 16, flags: 18, ksym: 24, ipv4: 15, ipv6: 24, inet_addr: 24, port: 5, wallclock: 12 }[field.decode.kind];
  if (t.kind === "bool") return 5;
  if (t.kind === "string") return Math.min(t.size - 1, 16);
  if (t.kind === "string_list") return 40;
  if ((field.source as { kind: string }).kind === "builtin" && (field.source as { name: string }).name === "ktime") return 15;
  if (t.kind === "array") return Math.min(t.length * ({ 1: 4, 2: 6, 4: 11, 8: 21 }[t.element.size]), 40);
  return { 1: 4, 2: 6, 4: 7, 8: 12 }[t.size];
}

interface Printer {
  start?(): void;
  event(e: Record<string, unknown>): void;
  /** The maps at an --interval: one write, so events never land inside the block. */
  interval(s: Snapshot): void;
  end(s: Snapshot): void;
}

function jsonPrinter(view: MapView): Printer {
  return {
    event: (e) => process.stdout.write(jsonText(withFrames(e, view.stacks)) + "\n"),
    interval: (s) => process.stdout.write(jsonMaps(s, view, false)),
    end: (s) => process.stdout.write(jsonMaps(s, view, true)),
  };
}

/** Aligned rows; columns are the events' fields (one EVENT column when a buffer carries several types). */
class TablePrinter implements Printer {
  private readonly columns: Array<{ title: string; tsName: string; fields: Map<string, IrField>; width: number }> = [];
  private readonly multi: boolean;

  constructor(probe: IrProbe, private readonly view: MapView) {
    const events = probe.events;
    this.multi = events.length > 1;
    if (this.multi) this.columns.push({ title: "EVENT", tsName: "type", fields: new Map(), width: Math.max(5, ...events.map((e) => e.name.length)) });
    // Fixed-width values first, long strings (paths) last, so rows stay aligned as they stream.
    const long = (f: IrField) => (f.type.kind === "string" && f.type.size > 16) || f.type.kind === "string_list" || (f.type.kind === "array" && f.type.stack !== undefined);
    for (const e of events) {
      for (const f of [...e.fields.filter((x) => !long(x)), ...e.fields.filter(long)]) {
        let col = this.columns.find((c) => c.tsName === f.tsName);
        if (!col) {
          col = { title: f.name.toUpperCase(), tsName: f.tsName, fields: new Map(), width: 0 };
          this.columns.push(col);
        }
        col.fields.set(e.name, f);
        col.width = Math.max(col.width, col.title.length, defaultWidth(f));
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
      const more = f?.type.kind === "string_list" && e[tsNames.listTruncated(c.tsName)] === true ? " ..." : "";
      return display(f, e[c.tsName], this.view.stacks) + more;
    });
    process.stdout.write(this.line(cells) + "\n");
  }

  interval(s: Snapshot): void {
    process.stdout.write("\n" + formatMaps(s, this.view, intervalHeader(s.time)));
  }

  end(s: Snapshot): void {
    process.stdout.write(formatMaps(s, this.view));
  }
}
