/**
 * The typed IR: everything both emitters need, resolved against the kernel and laid out.
 * Emitters read only this; every node keeps the span it came from.
 */
import type { SourceSpan } from "./diagnostics.js";
import type { BinaryOp, UnaryOp } from "./filter.js";
import type { TracepointField, TracepointFormat } from "./kernel/tracefs.js";
import type { StructLayout } from "./layout.js";
import type { BoolType, IntType, ScalarOrString, StringType } from "./types.js";

export type Builtin = "pid" | "tid" | "uid" | "gid" | "comm" | "ktime" | "cpu";

/** Where a value comes from at run time. */
export type ValueSource =
  | { kind: "builtin"; name: Builtin }
  | { kind: "tracepoint-field"; field: TracepointField }
  | { kind: "kprobe-arg"; index: number; read: "int" | "user_string" | "kernel_string" }
  | { kind: "retval" };

export type AttachPoint =
  | { kind: "tracepoint"; category: string; name: string; format: TracepointFormat }
  | { kind: "kprobe" | "kretprobe"; function: string };

export interface IrField {
  /** snake_case name from the spec: C member name. */
  name: string;
  /** camelCase name: TS property name. */
  tsName: string;
  type: ScalarOrString;
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
  span: SourceSpan;
}

export type MapKind = "ringbuf" | "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "array" | "percpu_array";

export interface IrMapType {
  /** A scalar or string, or a struct laid out by the layout pass. */
  scalar?: ScalarOrString;
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
  /** TS names derived from the probe name. */
  ts: { loader: string; probe: string; event: string; maps: string };
  /** True when some program reads kprobe registers (needs bpf_tracing.h). */
  usesPtRegs: boolean;
}

export type { StringType };
