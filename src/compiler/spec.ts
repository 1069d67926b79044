/** The shape of a spec after schema validation: what the YAML says, before any resolution. */

export type ScalarTypeName = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "bool";
/** An array of integers: "u8[16]", "u64[6]". */
export type ArrayTypeName = `${"u" | "i"}${8 | 16 | 32 | 64}[${number}]`;
/** A scalar, "string[N]", an array "u8[N]", or a struct of named scalars/strings/arrays. */
export type ValueTypeSpec = string | Record<string, string>;

export type HistogramSpec = "hist" | { lhist: { min: number; max: number; step: number } };

export interface ParamSpec {
  type: ScalarTypeName;
  default?: number | boolean;
  description?: string;
}

export interface MapSpec {
  type: "ringbuf" | "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "array" | "percpu_array";
  description?: string;
  size?: number | string;
  key?: ValueTypeSpec;
  value?: ValueTypeSpec | HistogramSpec;
  max_entries?: number;
  flags?: Array<"no_prealloc">;
  pinned?: boolean;
}

export type ExpressionSpec = string | number;

export interface UpdateSpec {
  map: string;
  key?: ExpressionSpec | Record<string, ExpressionSpec>;
  count?: true;
  sum?: string;
  min?: string;
  max?: string;
  set?: ExpressionSpec | Record<string, ExpressionSpec>;
  hist?: string;
  delete?: true;
  if?: string;
}

export interface FieldObjectSpec {
  name?: string;
  from?: string;
  type?: ScalarTypeName | ArrayTypeName | "user_string" | "kernel_string";
  size?: number;
  /** How TS reads a 64-bit integer: "bigint" (default, exact) or "number" (exact below 2^53). */
  as?: "bigint" | "number";
  description?: string;
}

export type FieldSpec = string | FieldObjectSpec;

export interface ProgramSpec {
  name?: string;
  attach: string;
  description?: string;
  filter?: string;
  event?: string;
  output?: string;
  fields?: FieldSpec[];
  exit?: true | string;
  update?: UpdateSpec[];
}

export interface ProbeSpec {
  name?: string;
  description?: string;
  license?: string;
  params?: Record<string, ParamSpec>;
  maps?: Record<string, MapSpec>;
  programs: ProgramSpec[];
}
