/**
 * tracefs formats are the source of truth for tracepoint arguments; where the kernel's BTF has
 * the matching `struct trace_event_raw_NAME`, its member offsets must agree with them. A
 * disagreement means the formats and the types come from different kernels (a stale --btf, a
 * copied tracefs), and the generated program would read the wrong bytes.
 */
import type { Btf } from "./btf/index.js";
import type { TracepointFormat } from "./tracefs.js";

export interface LayoutMismatch {
  field: string;
  tracefsOffset: number;
  btfOffset: number;
}

/** Fields whose offsets differ; empty when they agree or BTF has no struct for this event. */
export function crossCheckFormat(btf: Btf, format: TracepointFormat): LayoutMismatch[] {
  const id = btf.findByName(`trace_event_raw_${format.name}`, "struct");
  if (id === undefined) return []; // syscalls share trace_event_raw_sys_enter: nothing per event to compare
  const offsets = new Map(btf.members(id).map((m) => [m.name, m.bitOffset / 8]));
  const out: LayoutMismatch[] = [];
  for (const f of format.fields) {
    const btfOffset = offsets.get(f.name) ?? offsets.get(`__data_loc_${f.name}`);
    if (btfOffset !== undefined && btfOffset !== f.offset) out.push({ field: f.name, tracefsOffset: f.offset, btfOffset });
  }
  return out;
}
