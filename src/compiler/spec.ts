// Generated from schemas/probe.schema.json by scripts/spec-types.mjs. DO NOT EDIT: change the schema and run
// node scripts/spec-types.mjs. The shape of a spec after schema validation, before any resolution.

/** A declarative eBPF probe: where to attach, what to capture, which events and maps it produces. */
export interface ProbeSpec {
  /** Probe name; becomes generated/NAME.* and loadName(). Defaults to the file name. */
  name?: IdentifierSpec;
  /** What the probe observes; becomes the loader's doc comment. */
  description?: string;
  /** License string of the BPF object (GPL-compatible licences unlock GPL-only helpers). */
  license?: string;
  /** Runtime parameters: typed constants set at load (loadX({ params })), usable in filters and updates as params.NAME. */
  params?: { [name: string]: ParamSpec };
  /** Maps by name. A ring buffer called 'events' is created automatically when a program emits events. */
  maps?: { [name: string]: MapSpec };
  /** The programs of this probe: one per attach point. */
  programs: Array<ProgramSpec>;
}

/** lower_snake_case, starting with a letter, at most 48 characters */
export type IdentifierSpec = string;

export type ScalarTypeSpec = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "bool";

/** an array of integers, copied by value: u8[16] (bytes, a Uint8Array in TypeScript), u32[4], u64[6] (arrays of numbers or bigints) */
export type ArrayTypeSpec = string;

/** a call stack: kstack (the kernel's) or ustack (the process's), filled from the builtin of that name; a StackTrace in TypeScript */
export type StackTypeSpec = "kstack" | "ustack";

/** A scalar type (u8..u64, i8..i64, bool), a fixed-size string (string[16]), an array of integers (u8[16]), a call stack (kstack, ustack) or a struct of named members. */
export type ValueTypeSpec = ScalarTypeSpec | StackTypeSpec | string | ArrayTypeSpec | { [name: string]: ScalarTypeSpec | StackTypeSpec | string | ArrayTypeSpec };

/** A size in bytes: an integer or a string such as 256KiB or 16MiB. */
export type SizeSpec = number | string;

/** A map. Without type and key it holds one value (an array of one entry; type: percpu_array without key or max_entries, one per CPU). */
export interface MapSpec {
  /** sockmap and sockhash hold sockets (added from TypeScript) for sk_msg programs: a sockmap is indexed by u32 below max_entries, a sockhash has a declared key; neither has a value type. */
  type?: "ringbuf" | "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "array" | "percpu_array" | "sockmap" | "sockhash";
  description?: string;
  /** Ring buffer size in bytes (a power of two, at least one page). */
  size?: SizeSpec;
  key?: ValueTypeSpec;
  value?: ValueTypeSpec | HistogramSpec;
  /** How the key reads in TypeScript and probegen run: a decoder for a scalar key, or one per member of a struct key. Default: what every update's key expression agrees on (a syscall id, a tracepoint's state). */
  decode?: DecoderSpec | { [name: string]: DecoderSpec };
  max_entries?: number;
  /** Map flags: no_prealloc allocates hash entries on demand. */
  flags?: Array<"no_prealloc">;
  /** Pin the map in bpffs (/sys/fs/bpf/NAME) so it outlives the process and is shared by the next load. */
  pinned?: boolean;
  /** Export this map as a Prometheus/OpenTelemetry metric (probegen run --metrics, probe.metrics()). true or a type takes every default; an object names what differs. */
  metric?: boolean | MetricTypeSpec | MetricSpec;
}

/** counter: a count or sum that only grows; gauge: a value that goes up and down (min, max, set); histogram: a hist or lhist value, exported with cumulative le buckets. Default: from what fills the map. */
export type MetricTypeSpec = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  type?: MetricTypeSpec;
  /** The metric's name (Prometheus rules: [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total). Default: probegen_PROBE_MAP, with _total for a counter. */
  name?: string;
  /** The HELP text. Default: the map's description, else one made from the probe and map names. */
  help?: string;
  /** Key members exported as labels (default: every member; a scalar key is one label, named 'key' unless this names it). Members left out are added up (counters, histograms) or combined as the map keeps them (min, max). */
  labels?: Array<string>;
}

/** How TypeScript and probegen run show the value: symbolic or flags (the tracepoint's own __print_symbolic/__print_flags names, automatic), errno, open_flags, signal, syscall (names), ksym (kernel address -> function+offset), ipv4, ipv6, inet_addr (address text), port (network byte order -> number), wallclock (ktime/boot_ns -> Date), none (keep the number). */
export type DecoderSpec = "symbolic" | "flags" | "errno" | "open_flags" | "signal" | "syscall" | "ksym" | "ipv4" | "ipv6" | "inet_addr" | "port" | "wallclock" | "none";

/** A value to capture: a name (pid, uid, comm, a tracepoint argument, arg0, retval ...) or an object. */
export type FieldSpec = string | {
  /** Field name in the event (default: the source's last name). */
  name?: IdentifierSpec;
  /** Where the value comes from: a name (pid, args.filename, task.real_parent.tgid), or a map read: MAP[KEY] (0 when absent), MAP[KEY].MEMBER, MAP[] (a keyless map), KEY in MAP. */
  from?: string;
  /** Override the inferred type: another integer width; u64 on a pointer to capture its address (addresses are captured only when asked); user_string or kernel_string to read the string a pointer points to; an array type (u8[16], u32[4]) to read an array as other elements or only its first bytes. Kprobe arguments without BTF default to u64. */
  type?: "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "bool" | "user_string" | "kernel_string" | ArrayTypeSpec;
  /** String capacity in bytes, NUL included (for a list of strings, each string's). */
  size?: number;
  /** A list of user strings (argv and envp of sys_enter_execve): the most strings it keeps (default 20); each holds up to size - 1 bytes (default 128). */
  count?: number;
  /** How TypeScript reads a 64-bit integer: bigint (default, exact) or number (no BigInt per event; exact below 2^53, e.g. 104 days of nanoseconds, rounded to the nearest representable value above). */
  as?: "bigint" | "number";
  decode?: DecoderSpec;
  description?: string;
};

export interface ProgramSpec {
  /** Program name (default: derived from the attach point). */
  name?: IdentifierSpec;
  /** Where the program attaches: one attach point or pattern (tracepoint/syscalls/sys_enter_*, tracepoint/sched/sched_process_{exec,exit}), or a list of them. One BPF program is built per match; `probe` says which fired. */
  attach: AttachPatternSpec | Array<AttachPatternSpec>;
  description?: string;
  /** Keep only events for which this is true, e.g. 'uid != 0 && comm == "bash"'. */
  filter?: string;
  /** Event type name (default: the program name). */
  event?: IdentifierSpec;
  /** Ring buffer map to emit into (default: events). */
  output?: IdentifierSpec;
  /** What each event captures, in order. */
  fields?: Array<FieldSpec>;
  /** Pair this entry with its own call's return: true, or that exit named (kretprobe/FUNC for kprobe/FUNC, fexit/FUNC for fentry/FUNC, uretprobe/PATH:SYMBOL for uprobe/PATH:SYMBOL, a sys_exit_* tracepoint for its sys_enter_*). Fields and updates then run at exit and can use entry values, ret, errno and latency. */
  exit?: true | string;
  /** What a network program does with the packet (verdicts of its kind: xdp has pass, drop, tx, aborted): one verdict (drop), verdicts on conditions tried in order ({ drop: "udp.dport == 9" }), or a list of either, the first that holds applied. Packets no action takes, and those the filter rejects, are left alone (pass). Updates and events happen first. */
  action?: VerdictSpec | ConditionalVerdictsSpec | Array<VerdictSpec | ConditionalVerdictsSpec>;
  /** Map updates this program makes, in order. */
  update?: Array<UpdateSpec>;
}

export interface ParamSpec {
  /** u8..u64, i8..i64, bool, or a string of at most N-1 UTF-8 bytes (string[16]), compared in filters with == and != (comm == params.comm). */
  type: ScalarTypeSpec | string;
  /** Value when the loader is not given one (default 0, false or the empty string). */
  default?: number | boolean | string;
  description?: string;
}

/** A histogram value: 'hist' (log2 buckets, like bpftrace's hist()) or { lhist: { min, max, step } } (linear buckets). */
export type HistogramSpec = "hist" | {
  lhist: {
    min: number;
    max: number;
    step: number;
  };
};

/** A value: a name (pid, args.count, params.min) or an expression (ret < 0, latency / 1000, ktime - start[args.next_pid], pid in seen, total[]). */
export type ExpressionSpec = string;

export interface UpdateSpec {
  /** The map to update. */
  map: IdentifierSpec;
  /** The key: an expression, or for a struct key one expression per member. None for a map without a key (one value). */
  key?: ExpressionSpec | number | { [name: string]: ExpressionSpec | number };
  /** Add one. */
  count?: true;
  /** Add this value. */
  sum?: ExpressionSpec;
  /** Keep the smallest value seen. */
  min?: ExpressionSpec;
  /** Keep the largest value seen. */
  max?: ExpressionSpec;
  /** Store this value (for a struct value, one expression per member). */
  set?: ExpressionSpec | number | { [name: string]: ExpressionSpec | number };
  /** Add this value to the map's histogram. */
  hist?: ExpressionSpec;
  /** Remove the key. */
  delete?: true;
  /** Make this update only when this is true (the program's filter applies too). */
  if?: ExpressionSpec;
}

/** A verdict of the program's kind: pass, drop, tx, aborted (xdp) */
export type VerdictSpec = string;

/** Verdicts by the condition that applies them, tried in order: { drop: "udp.dport == 9" } */
export type ConditionalVerdictsSpec = { [name: string]: string };

/** tracepoint/CATEGORY/NAME, kprobe/FUNCTION, kretprobe/FUNCTION, fentry/FUNCTION, fexit/FUNCTION, tp_btf/NAME, raw_tracepoint/NAME (raw_tp/NAME), xdp (on an interface named at load), tc/ingress, tc/egress, cgroup_skb/ingress, cgroup_skb/egress, socket, sk_msg/MAP (messages sent on the sockets of a sockmap or sockhash), uprobe/PATH:SYMBOL[+OFFSET] or uretprobe/PATH:SYMBOL (a function in a program or library: PATH is a path, a library name like libc or a program on PATH like bash), usdt/PATH:PROVIDER:NAME (a static probe of a program or library, PATH as for uprobes), profile/HZ (HZ samples a second on every CPU) or interval/MS (every MS milliseconds on one CPU); the target may be a glob (*, ?, [abc]) or hold brace lists ({exec,exit}), and then the program is attached to every match */
export type AttachPatternSpec = string;
