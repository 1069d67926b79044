/** Per-CPU map values: one slot per possible CPU, each padded to 8 bytes, as the kernel hands them over. */
import { readFileSync } from "node:fs";
import type { Codec } from "./map.js";
import { describeValue, withSubject } from "./values.js";

let possible: number | undefined;

/** How many CPUs the kernel may ever bring up: the length of every per-CPU value array. */
export function possibleCpus(): number {
  if (possible === undefined) {
    // "0-1", "0,2-3": the kernel indexes per-CPU values by CPU id up to the highest listed.
    const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
    possible = Math.max(...text.split(",").map((r) => Number(r.split("-").at(-1)))) + 1;
  }
  return possible;
}

/** A per-CPU value: what each CPU holds, and their sum. */
export interface PerCpu<V> {
  readonly perCpu: V[];
  readonly total: V;
}

/**
 * Wraps the codec of one CPU's value. `add` sums two values (numbers, bigints, histograms,
 * structs member by member); setting a PerCpu writes `perCpu[i]` to CPU i.
 */
export function perCpuCodec<V>(inner: Codec<V>, add: (a: V, b: V) => V): Codec<PerCpu<V>> {
  const slot = Math.ceil(inner.size / 8) * 8;
  const cpus = possibleCpus();
  return {
    size: slot * cpus,
    decode(view, offset) {
      const perCpu = new Array<V>(cpus);
      for (let i = 0; i < cpus; i++) perCpu[i] = inner.decode(view, offset + i * slot);
      return { perCpu, total: perCpu.reduce(add) };
    },
    encode(value, view, offset) {
      const values = (value as Partial<PerCpu<V>> | null)?.perCpu;
      if (!Array.isArray(values)) throw new TypeError(`must be a PerCpu value ({ perCpu: [one value per CPU] }), got ${describeValue(value)}`);
      new Uint8Array(view.buffer, view.byteOffset + offset, slot * cpus).fill(0);
      for (let i = 0; i < cpus && i < values.length; i++) {
        try {
          inner.encode(values[i]!, view, offset + i * slot);
        } catch (err) {
          throw withSubject(`perCpu[${i}]`, err);
        }
      }
    },
  };
}
