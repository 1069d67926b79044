/** What a loaded probe reports about itself: ring buffer drops and per-program statistics. */
import type { RawMap } from "./map.js";
import type { LoadedObject, ProgramInfo } from "./object.js";

export interface ProbeStats {
  /** Events the kernel could not reserve in a ring buffer (it was full). */
  dropped: number;
  /** Run counts and times stay 0 unless BPF stats are on (sysctl kernel.bpf_stats_enabled=1). */
  programs: ProgramInfo[];
}

/**
 * The map of the drop counter every probegen object with a ring buffer has: a u64 global
 * (`pg_drops`) in its own data section, which libbpf turns into a one-entry array map.
 */
export const DROPS_MAP = ".data.pg_drops";

/** Ring buffer reserve failures counted by the object's programs; undefined when it has no counter. */
export function kernelDrops(object: { map(name: string): Pick<RawMap, "valueSize" | "lookup"> }): number | undefined {
  let raw;
  try {
    raw = object.map(DROPS_MAP);
  } catch {
    return undefined;
  }
  const value = new Uint8Array(Math.max(8, raw.valueSize));
  if (!raw.lookup(new Uint8Array(4), value)) return undefined;
  return Number(new DataView(value.buffer).getBigUint64(0, true));
}

export function probeStats(object: LoadedObject): ProbeStats {
  return { dropped: kernelDrops(object) ?? 0, programs: object.programInfo() };
}
