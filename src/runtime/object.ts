// loadObject: open -> configure (map sizes, .rodata) -> load -> attach, and
// LoadedObject, which owns everything created from it until close().
import { fstatSync } from "node:fs";
import { resolveCgroup } from "./cgroup.js";
import { BpfError, withContext } from "./errors.js";
import { NativeRawMap, type RawMap } from "./map.js";
import { native, type NativeMapInfo, type NativeObject } from "./native.js";
import { interfaceIndex, xdpModeName, type XdpMode } from "./interfaces.js";
import { pinDirectory, preparePins } from "./pins.js";
import { cpusText, maxSampleRate, onlineCpus } from "./perf-event.js";
import { RingBufferStream, type EventStream, type RecordDecoder } from "./ring-buffer.js";
import { socketFd, type SocketLike } from "./socket.js";
import { checkUsdtProbe } from "./usdt.js";
import { resolveUprobe, uprobeText, type UprobeTarget } from "./uprobe.js";

/**
 * How the runtime attaches one program: a typed descriptor the generated loader carries (never a
 * section string to re-parse). Without one, libbpf attaches the program by its SEC().
 */
export type AttachTarget =
  | { kind: "tracepoint"; category: string; name: string }
  | { kind: "kprobe"; function: string; retprobe: boolean }
  | { kind: "raw_tracepoint"; name: string }
  /** fentry, fexit, tp_btf: the target is the program's BTF attach id, set at open from its section. */
  | { kind: "trace" }
  /** An interface's XDP hook: the loader's `interface` option names it, the runtime finds its index. */
  | { kind: "xdp"; ifindex?: number }
  /**
   * A classifier on the interface named at load (the loader's `interface`; the runtime finds its
   * index): a tcx link, else a clsact filter (`tcMode`).
   */
  | { kind: "tc"; direction: "ingress" | "egress"; ifindex?: number; mode?: "auto" | "tcx" | "clsact" }
  /** On the cgroup v2 directory named at load (the loader's `cgroup`; the runtime resolves its path). */
  | { kind: "cgroup_skb"; direction: "ingress" | "egress"; cgroup?: string }
  /** A socket filter: attached to sockets after load (LoadedObject.attachSocket), not at load. */
  | { kind: "socket" }
  /** sk_msg: the program runs for the sockets of this sockmap or sockhash (BPF_SK_MSG_VERDICT), detached at close. */
  | { kind: "sk_msg"; map: string }
  /**
   * Every site of a USDT probe in a file (libbpf counts its semaphore up while attached), in
   * every process that maps the file, or in the loader's `pid` alone (the runtime fills it in).
   */
  | { kind: "usdt"; path: string; provider: string; name: string; pid?: number }
  /**
   * A function in a program or library: `path` is a path, a library by name ("libc") or a
   * program on PATH ("bash"), found again at load with its symbol; `offset` is bytes after the
   * symbol's start. The loader's `pid` restricts it to one process.
   */
  | UprobeTarget
  /**
   * A perf_event software clock (PERF_COUNT_SW_CPU_CLOCK) on every online CPU ("all": profile/HZ)
   * or on the first one ("one": interval/MS), firing `frequency` times a second or every
   * `periodNs` nanoseconds: one event per CPU, each closed with its link. The runtime fills
   * `cpuList` from /sys/devices/system/cpu/online at load (offline CPUs are skipped).
   */
  | { kind: "perf_event"; frequency?: number; periodNs?: number; cpus: "all" | "one"; cpuList?: number[] };

/** A target as a SEC()-style string, for errors ("tracepoint/syscalls/sys_enter_openat"); none for "trace". */
function attachText(t: AttachTarget): string | undefined {
  switch (t.kind) {
    case "tracepoint": return `tracepoint/${t.category}/${t.name}`;
    case "kprobe": return `${t.retprobe ? "kretprobe" : "kprobe"}/${t.function}`;
    case "raw_tracepoint": return `raw_tracepoint/${t.name}`;
    case "tc": return `tc/${t.direction}`;
    case "cgroup_skb": return `cgroup_skb/${t.direction}`;
    case "xdp": return t.ifindex !== undefined ? `xdp on interface ${t.ifindex}` : "xdp";
    case "sk_msg": return `sk_msg/${t.map}`;
    case "usdt": return `usdt/${t.path}:${t.provider}:${t.name}`;
    case "uprobe": return uprobeText(t);
    case "perf_event": return t.frequency !== undefined ? `profile/${t.frequency}` : `interval/${(t.periodNs ?? 0) / 1e6}`;
    case "trace":
    case "socket": return undefined;
  }
}

/** Everything a generated loader tells the runtime about one compiled object. */
export interface ObjectDefinition {
  /** Spec name, e.g. "opensnoop" (used in errors). */
  name: string;
  /** Spec path, e.g. "probes/opensnoop.yaml" (used in errors). */
  source: string;
  /** The .bpf.o bytes. */
  object: Uint8Array;
  /** C function name, how to attach it (by its SEC() when absent), spec line for errors. */
  programs: Array<{ name: string; attach?: AttachTarget; line?: number }>;
  /** `recordSize`: a ring buffer's largest record, its 8-byte header included. */
  maps: Array<{ name: string; type: string; keySize: number; valueSize: number; maxEntries: number; recordSize?: number }>;
  /** Initial bytes of the .rodata map (runtime parameters). */
  rodata?: Uint8Array;
}

export interface LoadOptions {
  /** max_entries overrides by map name (ring buffer size in bytes: a power of 2 multiple of the page size). */
  mapSizes?: Record<string, number>;
  /**
   * Longest time between two drains of a ring buffer, in ms (default 1): while records come the
   * reader drains on this timer, and sooner when the rate of the last drains would fill a
   * quarter of the ring first. A record waits at most this long (plus the batch ahead of it); the
   * ring must hold what the programs write in this time. After 20 ms without records (or one
   * interval) the reader sleeps, and the next record wakes it at once (an idle probe costs no CPU).
   */
  drainIntervalMs?: number;
  /**
   * Bytes of records a ring buffer reader may hold beyond the kernel ring while the JS thread is
   * busy (a cold JIT, a GC pause, the app's own work): a power of two, at least 64 KiB. Default
   * 64 MiB of address space, of which only what a backlog reaches is ever resident.
   */
  stagingBytes?: number;
  /** Default true. */
  attach?: boolean;
  /** The network interface XDP and tc programs attach to (by name, e.g. "eth0"): required when the object has one. */
  interface?: string;
  /** How tc programs attach: "tcx" links, "clsact" filters, or "auto" (default): tcx where the kernel has it (6.6+), else clsact. */
  tcMode?: "auto" | "tcx" | "clsact";
  /** The cgroup v2 directory cgroup_skb programs attach to: absolute, or relative to the cgroup2 mount ("." is the root). */
  cgroup?: string;
  /** Only this process: uprobes, uretprobes and USDT probes fire for it alone (default: every process). */
  pid?: number;
}

/** One program attached at load, as `probegen run` reports it. */
export interface Attachment {
  program: string;
  /** "tc/ingress", "cgroup_skb/egress", "tracepoint/sched/sched_switch"... */
  target: string;
  /** The interface or cgroup directory it is attached on; for a perf_event clock, its CPUs ("CPUs 0-3", "CPU 0"). */
  on?: string;
  /**
   * "link" (a bpf_link); for tc "tcx" (a tcx link) or "clsact" (a filter on the clsact qdisc);
   * for XDP how the kernel runs it ("driver", "generic"...); for sk_msg "map" (attached to its
   * sockmap or sockhash).
   */
  mode: "link" | "tcx" | "clsact" | "map" | XdpMode;
}

/** A socket filter on one socket, until detach() (or the object's close()). */
export interface SocketAttachment extends Disposable {
  readonly program: string;
  readonly fd: number;
  /** Removes the filter from the socket (when it is still open). Idempotent. */
  detach(): void;
}

export interface ProgramInfo {
  name: string;
  id: number;
  /** Stay 0 unless kernel.bpf_stats_enabled=1. */
  runCount: bigint;
  runTimeNs: bigint;
  xlatedInsns: number;
  jitedBytes: number;
}

export interface LoadedObject extends Disposable {
  readonly name: string;
  /** Throws if unknown. */
  map(name: string): RawMap;
  ringBuffer<E>(mapName: string, decode: RecordDecoder<E>, options?: { highWaterMark?: number }): EventStream<E>;
  programInfo(): ProgramInfo[];
  /** The programs attached at load, where and how. */
  attachments(): Attachment[];
  /**
   * Attaches a socket filter program (the only one, or the one named) to a socket: it then sees
   * every packet the socket receives, until detach(), close(), or the socket closes.
   */
  attachSocket(socket: SocketLike, program?: string): SocketAttachment;
  /** Idempotent; detaches links and socket filters, stops readers, closes fds. */
  close(): void;
  [Symbol.dispose](): void;
}

const PAGE_SIZE = 4096;

/** How ring buffer readers drain: the loader's options, defaults filled in (stagingBytes 0: native default). */
interface ReaderOptions {
  drainIntervalMs: number;
  stagingBytes: number;
}

function checkOptions(def: ObjectDefinition, options: LoadOptions): void {
  if (!(def.object instanceof Uint8Array)) throw new TypeError(`loadObject(${def.name}): object must be a Uint8Array`);
  if (def.rodata !== undefined && !(def.rodata instanceof Uint8Array)) {
    throw new TypeError(`loadObject(${def.name}): rodata must be a Uint8Array`);
  }
  const interval = options.drainIntervalMs;
  if (interval !== undefined && (!Number.isInteger(interval) || interval < 1 || interval > 60_000)) {
    throw new RangeError(`loadObject(${def.name}): drainIntervalMs must be an integer in 1..60000, got ${interval}`);
  }
  if (options.tcMode !== undefined && !["auto", "tcx", "clsact"].includes(options.tcMode)) {
    throw new RangeError(`loadObject(${def.name}): tcMode must be "auto", "tcx" or "clsact", got ${JSON.stringify(options.tcMode)}`);
  }
  if (options.pid !== undefined && (!Number.isInteger(options.pid) || options.pid < 1 || options.pid > 4_194_304)) {
    throw new RangeError(`loadObject(${def.name}): pid must be a process id (an integer from 1 to 4194304), got ${options.pid}`);
  }
  const staging = options.stagingBytes;
  if (staging !== undefined && (!Number.isInteger(staging) || staging < 65_536 || staging > 2 ** 31 || (staging & (staging - 1)) !== 0)) {
    throw new RangeError(`loadObject(${def.name}): stagingBytes must be a power of two from 64 KiB to 2 GiB, got ${staging}`);
  }
  for (const [name, size] of Object.entries(options.mapSizes ?? {})) {
    if (!Number.isInteger(size) || size < 1 || size > 0xffffffff) {
      throw new RangeError(`loadObject(${def.name}): mapSizes.${name} must be a positive 32-bit integer, got ${size}`);
    }
    const spec = def.maps.find((m) => m.name === name);
    if (spec?.type === "ringbuf" && (size % PAGE_SIZE !== 0 || (size & (size - 1)) !== 0)) {
      throw new RangeError(
        `loadObject(${def.name}): ring buffer '${name}' size must be a power of 2 multiple of ${PAGE_SIZE}, got ${size}`,
      );
    }
    // The kernel reserves a record only while one byte of the ring stays free.
    if (spec?.type === "ringbuf" && spec.recordSize !== undefined && size <= spec.recordSize) {
      let enough = PAGE_SIZE;
      while (enough <= spec.recordSize) enough *= 2;
      throw new RangeError(
        `loadObject(${def.name}): ring buffer '${name}' of ${size} bytes cannot hold its largest event (${spec.recordSize} bytes with its header): ` +
          `every such event would be dropped; give it at least ${enough}`,
      );
    }
  }
}

/**
 * The programs' attach targets with what the loader's options fill in (an XDP or tc program's
 * interface, a cgroup_skb program's cgroup), checked before anything is loaded: a missing or
 * unknown interface or cgroup is the caller's mistake (TypeError, RangeError), named with what
 * there is.
 */
function attachTargets(def: ObjectDefinition, options: LoadOptions): ObjectDefinition["programs"] {
  const what = `loadObject(${def.name})`;
  const name = options.interface;
  if (name !== undefined && (typeof name !== "string" || !/^[^/\s]{1,15}$/.test(name) || name === "." || name === "..")) {
    throw new TypeError(`${what}: interface must be an interface name (at most 15 characters, no '/'), got ${JSON.stringify(name)}`);
  }
  const attaching = options.attach !== false;
  const cgroup = attaching && options.cgroup !== undefined && def.programs.some((p) => p.attach?.kind === "cgroup_skb") ? resolveCgroup(options.cgroup) : undefined;
  return def.programs.map((p) => {
    const attach = p.attach;
    if (attach?.kind === "xdp" || attach?.kind === "tc") {
      if (name === undefined) {
        if (!attaching) return p;
        throw new TypeError(`${what}: program '${p.name}' attaches to a network interface: name it with { interface: "eth0" } (probegen run --interface NAME; probegen list interfaces)`);
      }
      const ifindex = interfaceIndex(name, what);
      return { ...p, attach: attach.kind === "xdp" ? { kind: "xdp", ifindex } : { ...attach, ifindex, mode: options.tcMode ?? "auto" } };
    }
    if (attach?.kind === "usdt" && attaching) {
      checkUsdtProbe(attach, def.name, p.name);
      return options.pid === undefined ? p : { ...p, attach: { ...attach, pid: options.pid } };
    }
    // The function found again in the file installed now: a missing one fails before the load.
    if (attach?.kind === "uprobe" && attaching) return { ...p, attach: resolveUprobe(p.name, attach, options.pid) };
    if (attach?.kind === "perf_event" && attaching) return { ...p, attach: perfClockTarget(attach, what, p.name) };
    if (attach?.kind === "cgroup_skb" && attaching) {
      if (cgroup === undefined) {
        throw new TypeError(`${what}: program '${p.name}' attaches to a cgroup: name its cgroup v2 directory with { cgroup: "my-service" } (probegen run --cgroup PATH; probegen list cgroups)`);
      }
      return { ...p, attach: { ...attach, cgroup } };
    }
    return p;
  });
}

/**
 * A perf_event clock with the CPUs it runs on (every online one, or the first), its frequency
 * checked against kernel.perf_event_max_sample_rate, which perf_event_open would refuse with a
 * bare EINVAL (and which the kernel lowers by itself when sampling takes too long).
 */
function perfClockTarget(attach: AttachTarget & { kind: "perf_event" }, what: string, program: string): AttachTarget {
  const max = maxSampleRate();
  if (attach.frequency !== undefined && max !== undefined && attach.frequency > max) {
    throw new RangeError(`${what}: program '${program}' samples ${attach.frequency} times a second, above this kernel's limit of ${max} (kernel.perf_event_max_sample_rate): ` +
      `lower the rate, or raise the limit with sysctl kernel.perf_event_max_sample_rate=${attach.frequency}`);
  }
  const online = onlineCpus();
  return { ...attach, cpuList: attach.cpus === "all" ? online : online.slice(0, 1) };
}

/** load + attach. Throws BpfError with the trimmed verifier log on load failure. */
export async function loadObject(def: ObjectDefinition, options: LoadOptions = {}): Promise<LoadedObject> {
  checkOptions(def, options);
  const lines = new Map(def.programs.filter((p) => p.line !== undefined).map((p) => [p.name, p.line as number]));
  try {
    def = { ...def, programs: attachTargets(def, options) };
  } catch (err) {
    throw withContext(err, { object: def.name, source: def.source, lines }); // a uprobe's file or function missing here
  }
  const context = {
    object: def.name,
    source: def.source,
    lines,
    attachOf: new Map(def.programs.flatMap((p) => {
      const text = p.attach && attachText(p.attach);
      return text ? [[p.name, text] as const] : [];
    })),
  };
  let obj: NativeObject;
  const attachments: Attachment[] = [];
  try {
    obj = new (native().BpfObject)(def.object, def.name, pinDirectory(def.name));
  } catch (err) {
    throw withContext(err, context);
  }
  try {
    for (const [name, size] of Object.entries(options.mapSizes ?? {})) obj.setMaxEntries(name, size);
    if (def.rodata) obj.setRodata(def.rodata);
    preparePins(def.name, obj.maps());
    await obj.loadAsync(); // the verifier runs off the event loop
    if (options.attach !== false) {
      // Attach what the definition lists; a bare object (no list) attaches every program by its SEC().
      const programs: ObjectDefinition["programs"] = def.programs.length > 0 ? def.programs : obj.programs().map((p) => ({ name: p.name }));
      const sections = new Map(obj.programs().map((p) => [p.name, p.section]));
      for (const p of programs) {
        if (p.attach?.kind === "socket") continue; // attached to sockets later (attachSocket)
        try {
          const { mode } = obj.attach(p.name, p.attach);
          const target = (p.attach && attachText(p.attach)) ?? sections.get(p.name) ?? p.name;
          if (p.attach?.kind === "xdp" && p.attach.ifindex !== undefined) {
            // How the kernel runs it: in the driver, or generic (after the skb is built: slower, works everywhere).
            attachments.push({ program: p.name, target: "xdp", on: options.interface!, mode: xdpModeName(obj.xdpMode(p.attach.ifindex)) });
          } else {
            const on = p.attach?.kind === "tc" ? options.interface : p.attach?.kind === "cgroup_skb" ? p.attach.cgroup
              : p.attach?.kind === "perf_event" ? cpusText(p.attach.cpuList ?? []) : undefined;
            attachments.push({ program: p.name, target, ...(on !== undefined ? { on } : {}), mode });
          }
        } catch (err) {
          throw withContext(err, { ...context, attach: (p.attach && attachText(p.attach)) ?? sections.get(p.name) });
        }
      }
    }
  } catch (err) {
    obj.close();
    throw withContext(mapCreationFailure(err, def, options), context);
  }
  return new LoadedBpfObject(def, obj, { drainIntervalMs: options.drainIntervalMs ?? 1, stagingBytes: options.stagingBytes ?? 0 }, attachments);
}

/**
 * A load that failed because the kernel would not create a map (too large for its limits or for
 * memory) names the map and the size it was asked for, instead of the object alone.
 */
function mapCreationFailure(err: unknown, def: ObjectDefinition, options: LoadOptions): unknown {
  if (!(err instanceof BpfError) || err.map) return err;
  const name = /map '([^']+)': failed to create/.exec(err.libbpfLog ?? "")?.[1];
  const map = def.maps.find((m) => m.name === name);
  if (!map) return err;
  const entries = options.mapSizes?.[map.name] ?? map.maxEntries;
  const bytes = map.type === "ringbuf" ? entries : entries * (map.keySize + map.valueSize);
  const what = map.type === "ringbuf" ? `a ${entries}-byte ring buffer` : `a ${map.type} map of ${entries} entries of ${map.keySize} + ${map.valueSize} bytes`;
  return new BpfError({
    operation: "map.create", errno: err.errno, map: map.name, libbpfLog: err.libbpfLog, cause: err,
    detail: `the kernel would not create map '${map.name}', ${what} (${(bytes / 2 ** 20).toFixed(1)} MiB before per-CPU copies): ` +
      "make it smaller (max_entries, or size for a ring buffer, in the spec or with the loader's maps option)",
  });
}

class LoadedBpfObject implements LoadedObject {
  readonly name: string;
  #obj: NativeObject;
  #closed = false;
  readonly #maps = new Map<string, RawMap>();
  readonly #infos: NativeMapInfo[];
  readonly #streams = new Set<EventStream<unknown>>();
  readonly #reader: ReaderOptions;
  readonly #attachments: Attachment[];
  readonly #socketPrograms: string[];
  readonly #sockets = new Set<SocketFilter>();

  constructor(def: ObjectDefinition, obj: NativeObject, reader: ReaderOptions, attachments: Attachment[]) {
    this.name = def.name;
    this.#obj = obj;
    this.#infos = obj.maps();
    this.#reader = reader;
    this.#attachments = attachments;
    this.#socketPrograms = def.programs.filter((p) => p.attach?.kind === "socket").map((p) => p.name);
  }

  #requireOpen(operation: string): void {
    if (this.#closed) {
      throw new BpfError({ operation, errno: 9, detail: `BPF object '${this.name}' is closed`, object: this.name });
    }
  }

  #index(name: string, operation: string): number {
    this.#requireOpen(operation);
    // libbpf names internal maps "<object>.rodata"; accept ".rodata" too.
    const i = this.#infos.findIndex((m) => m.name === name || (name.startsWith(".") && m.name.endsWith(name)));
    if (i < 0) {
      const known = this.#infos.map((m) => m.name).join(", ");
      throw new BpfError({ operation, errno: 2, detail: `object '${this.name}' has no map '${name}' (maps: ${known})`, map: name });
    }
    return i;
  }

  map(name: string): RawMap {
    this.#requireOpen("map");
    let m = this.#maps.get(name);
    if (!m) {
      const i = this.#index(name, "map");
      m = new NativeRawMap(this.#obj, i, this.#infos[i]);
      this.#maps.set(name, m);
    }
    return m;
  }

  ringBuffer<E>(mapName: string, decode: RecordDecoder<E>, options: { highWaterMark?: number } = {}): EventStream<E> {
    const i = this.#index(mapName, "ringBuffer");
    const stream: RingBufferStream<E> = new RingBufferStream<E>(
      (onBatch) => this.#obj.openRingBuffer(i, onBatch, this.#reader.drainIntervalMs, this.#reader.stagingBytes),
      decode,
      options,
      () => this.#streams.delete(stream),
      mapName,
    );
    this.#streams.add(stream);
    return stream;
  }

  programInfo(): ProgramInfo[] {
    this.#requireOpen("programInfo");
    return this.#obj.programInfo().map(({ name, id, runCount, runTimeNs, xlatedInsns, jitedBytes }) => ({
      name,
      id,
      runCount,
      runTimeNs,
      xlatedInsns,
      jitedBytes,
    }));
  }

  attachments(): Attachment[] {
    return this.#attachments.map((a) => ({ ...a }));
  }

  attachSocket(socket: SocketLike, program?: string): SocketAttachment {
    this.#requireOpen("attachSocket");
    const programs = this.#socketPrograms;
    if (program === undefined && programs.length !== 1) {
      throw new TypeError(programs.length === 0
        ? `object '${this.name}' has no socket filter program (a program with attach: socket)`
        : `object '${this.name}' has ${programs.length} socket filter programs: name one (${programs.join(", ")})`);
    }
    const name = program ?? programs[0]!;
    if (!programs.includes(name)) throw new TypeError(`object '${this.name}' has no socket filter program '${name}' (socket filters: ${programs.join(", ") || "none"})`);
    const fd = socketFd(socket);
    this.#obj.attachSocket(name, fd);
    const filter = new SocketFilter(this.#obj, name, fd, () => this.#sockets.delete(filter));
    this.#sockets.add(filter);
    // A closed socket takes its filter with it, and its fd number may soon be another socket's.
    if (typeof socket === "object") (socket as { once(event: "close", fn: () => void): unknown }).once("close", () => filter.forget());
    return filter;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sockets]) s.detach();
    for (const s of [...this.#streams]) s.close(); // ends pending for-await loops
    this.#obj.close(); // readers, then links, then maps and programs
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A filter on one socket. The fd number alone does not say it is still the same socket (it is
 * reused once closed), so detaching checks the socket's inode first.
 */
class SocketFilter implements SocketAttachment {
  readonly #identity: string | undefined;
  #attached = true;

  constructor(private readonly obj: NativeObject, readonly program: string, readonly fd: number, private readonly onGone: () => void) {
    this.#identity = identity(fd);
  }

  detach(): void {
    if (!this.#attached) return;
    if (identity(this.fd) === this.#identity) this.obj.detachSocket(this.fd);
    this.forget();
  }

  /** The socket closed: nothing left to detach. */
  forget(): void {
    this.#attached = false;
    this.onGone();
  }

  [Symbol.dispose](): void {
    this.detach();
  }
}

/** Which socket an fd is now (device and inode), undefined when it is closed. */
function identity(fd: number): string | undefined {
  try {
    const st = fstatSync(fd, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
