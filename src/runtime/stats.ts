/** What a loaded probe reports about itself: ring buffer drops and per-program statistics. */
import type { LoadedObject, ProgramInfo } from "./object.js";
import { possibleCpus } from "./percpu.js";

export interface ProbeStats {
  /** Events the kernel could not reserve in a ring buffer (it was full), summed over CPUs. */
  dropped: number;
  /** Run counts and times stay 0 unless BPF stats are on (sysctl kernel.bpf_stats_enabled=1). */
  programs: ProgramInfo[];
}

/** Reads the per-CPU drop counter (`pg_drops`) every probegen object with a ring buffer has. */
export function probeStats(object: LoadedObject): ProbeStats {
  let dropped = 0;
  const raw = object.map("pg_drops");
  const slots = possibleCpus();
  const value = new Uint8Array(8 * slots);
  if (raw.lookup(new Uint8Array(4), value)) {
    const view = new DataView(value.buffer);
    for (let i = 0; i < slots; i++) dropped += Number(view.getBigUint64(i * 8, true));
  }
  return { dropped, programs: object.programInfo() };
}
