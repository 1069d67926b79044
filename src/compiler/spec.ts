/** The shape of a spec after schema validation: what the YAML says, before any resolution. */

export type ScalarTypeName = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "bool";
/** A scalar, "string[N]", or a struct of named scalars/strings. */
export type ValueTypeSpec = string | Record<string, string>;

export interface MapSpec {
  type: "ringbuf" | "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "array" | "percpu_array";
  description?: string;
  size?: number | string;
  key?: ValueTypeSpec;
  value?: ValueTypeSpec;
  max_entries?: number;
}

export interface FieldObjectSpec {
  name?: string;
  from?: string;
  type?: ScalarTypeName | "user_string" | "kernel_string";
  size?: number;
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
}

export interface ProbeSpec {
  name?: string;
  description?: string;
  license?: string;
  maps?: Record<string, MapSpec>;
  programs: ProgramSpec[];
}
