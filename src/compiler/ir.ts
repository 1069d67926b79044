/**
 * The typed IR: everything both emitters need, resolved against the kernel and laid out.
 * Emitters read only this; every node keeps the span it came from.
 */
import type { SourceSpan } from "./diagnostics.js";
import type { BinaryOp, UnaryOp } from "./filter.js";
import type { TracepointField, TracepointFormat } from "./kernel/tracefs.js";
import type { StructLayout } from "./layout.js";
import type { BoolType, IntType, ScalarOrString, StringType } from "./types.js";

import type { Capture, FuncSignature, PathStep } from "./btf/index.js";
import type { BtfRead } from "./btf-values.js";

export type Builtin = "pid" | "tid" | "uid" | "gid" | "comm" | "ktime" | "boot_ns" | "cpu";

/** How a program reaches its function arguments: pt_regs (kprobes) or a u64 array (fentry, tp_btf). */
export type ArgContext = "regs" | "array";

/** Where a CO-RE path starts: the current task, or a pointer argument. */
export type PathRoot =
  | { kind: "task" }
  | { kind: "arg"; index: number; ctx: ArgContext; cType: string };

/** Where a value comes from at run time. */
export type ValueSource =
  | { kind: "builtin"; name: Builtin }
  | { kind: "tracepoint-field"; field: TracepointField }
  | { kind: "kprobe-arg"; index: number; read: "int" | "user_string" | "kernel_string"; ctx?: ArgContext }
  /** fexit reads the return value after the arguments (at ctx[index]). */
  | { kind: "retval"; arrayIndex?: number }
  /**
   * A kernel struct member read with CO-RE: `task.real_parent.tgid`. `root` is a BTF type id
   * (the struct the path starts in) so the emitter can print the needed types.
   */
  | { kind: "path"; root: PathRoot; rootType: number; steps: PathStep[]; capture: Capture; read: BtfRead }
  | { kind: "param"; param: IrParam }
  /** Exit of a pair: nanoseconds since the entry. */
  | { kind: "latency" }
  /** Exit of a pair: the positive errno of a negative return value, else 0. */
  | { kind: "errno"; ret: ValueSource }
  /** Exit of a pair: a value captured at entry, read back from the stash (member set by the resolver). */
  | { kind: "stashed"; inner: ValueSource; member: string };

/** A runtime parameter: a field of the `const volatile` params struct in .rodata. */
export interface IrParam {
  name: string;
  tsName: string;
  type: IntType | BoolType;
  default: bigint;
  description?: string;
  span: SourceSpan;
}

export type AttachPoint =
  | { kind: "tracepoint"; category: string; name: string; format: TracepointFormat }
  /** proto: the function's prototype from BTF, when the kernel has it (arguments by name). */
  | { kind: "kprobe" | "kretprobe" | "fentry" | "fexit"; function: string; proto?: FuncSignature }
  /** A BTF-typed raw tracepoint: the arguments of the tracepoint's C function. */
  | { kind: "tp_btf"; name: string; proto: FuncSignature };

export interface IrField {
  /** snake_case name from the spec: C member name. */
  name: string;
  /** camelCase name: TS property name. */
  tsName: string;
  type: ScalarOrString;
  /** A 64-bit integer the TS decoder reads as a number (the spec's `as: number`), not a bigint. */
  asNumber?: boolean;
  source: ValueSource;
  description?: string;
  span: SourceSpan;
}

export interface IrEvent {
  name: string;
  /** C struct tag, e.g. "pg_event_open". */
  cName: string;
  /** TS interface name, e.g. "OpenEvent". */
  tsName: string;
  description?: string;
  fields: IrField[];
  /** Discriminant written first in the record when a ring buffer carries several event types. */
  tag?: number;
  layout: StructLayout;
  span: SourceSpan;
}

export type IrExpr =
  | { kind: "int"; value: bigint; type: IntType; span: SourceSpan }
  | { kind: "string"; value: string; type: StringType; span: SourceSpan }
  | { kind: "value"; source: ValueSource; type: ScalarOrString; span: SourceSpan }
  | { kind: "unary"; op: UnaryOp; operand: IrExpr; type: IntType | BoolType; span: SourceSpan }
  | { kind: "binary"; op: BinaryOp; left: IrExpr; right: IrExpr; type: IntType | BoolType; span: SourceSpan };

export interface IrProgram {
  /** C function name; unique in the object. */
  name: string;
  attach: AttachPoint;
  /** The SEC() string libbpf attaches by. */
  section: string;
  description?: string;
  filter?: IrExpr;
  event?: IrEvent;
  output?: IrMap;
  updates: IrUpdate[];
  /** Entry half of a pair: stores the entry values under the thread id. */
  stashes?: IrStash;
  /** Exit half of a pair: reads the entry values back, and deletes them. */
  unstashes?: IrStash;
  span: SourceSpan;
}

/** The per-thread record an entry program leaves for its exit program. */
export interface IrStash {
  /** hash map: thread id -> struct cName */
  map: IrMap;
  /** per-CPU array where the entry builds the record (too big for the BPF stack). */
  scratch: IrMap;
  cName: string;
  members: Array<{ name: string; source: ValueSource; type: ScalarOrString }>;
  layout: StructLayout;
}

export type UpdateOp = "count" | "sum" | "min" | "max" | "set" | "hist" | "delete";

/** A scalar expression, or one expression per member of a struct key/value. */
export type IrComposite = IrExpr | Array<{ member: string; expr: IrExpr }>;

export interface IrUpdate {
  map: IrMap;
  op: UpdateOp;
  key: IrComposite;
  value?: IrComposite;
  /** Only when this holds. */
  condition?: IrExpr;
  span: SourceSpan;
}

export type Histogram = { kind: "log2"; slots: number } | { kind: "linear"; min: number; max: number; step: number; slots: number };

export type MapKind = "ringbuf" | "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "array" | "percpu_array";

export interface IrMapType {
  /** A scalar or string, or a struct laid out by the layout pass, or a histogram. */
  scalar?: ScalarOrString;
  histogram?: Histogram & { cName: string };
  struct?: { cName: string; tsName: string; layout: StructLayout; members: Array<{ name: string; tsName: string; type: ScalarOrString }> };
  size: number;
}

export interface IrMap {
  name: string;
  tsName: string;
  kind: MapKind;
  description?: string;
  maxEntries: number;
  key?: IrMapType;
  value?: IrMapType;
  /** Event types carried (ring buffers). */
  events: IrEvent[];
  /** Created by probegen rather than declared. */
  implicit: boolean;
  /** Not part of the typed TS API (stash, scratch and other plumbing). */
  internal?: boolean;
  noPrealloc?: boolean;
  pinned?: boolean;
  span: SourceSpan;
}

export interface IrProbe {
  name: string;
  /** Spec path as given, posix separators. */
  source: string;
  description?: string;
  license: string;
  programs: IrProgram[];
  maps: IrMap[];
  events: IrEvent[];
  params: IrParam[];
  /** Layout of struct pg_params (empty when there are no params). */
  paramsLayout: StructLayout;
  /** TS names derived from the probe name. */
  ts: { loader: string; probe: string; event: string; maps: string };
  /** True when some program reads kprobe registers (needs bpf_tracing.h). */
  usesPtRegs: boolean;
  /** Kernel types (BTF) the programs read: what the emitted C must define. */
  btfTypes?: { btf: import("./btf/index.js").Btf; paths: Array<{ root: number; steps: PathStep[] }>; declare: number[] };
}

export type { StringType };
