/**
 * perf_event software clocks for profile/HZ and interval/MS programs: the kernel's limits, and
 * the CPUs they run on. The native addon opens one event per CPU and attaches the program.
 */
import { readFileSync } from "node:fs";

export const MAX_SAMPLE_RATE_FILE = "/proc/sys/kernel/perf_event_max_sample_rate";

/**
 * kernel.perf_event_max_sample_rate: the highest frequency perf_event_open accepts (EINVAL
 * above it). The kernel lowers it by itself when sampling interrupts take too long. Undefined
 * when it cannot be read (no perf events, another OS).
 */
export function maxSampleRate(file = MAX_SAMPLE_RATE_FILE): number | undefined {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The online CPUs, from a list like "0-3,5" (/sys/devices/system/cpu/online): offline CPUs take no events. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    if (!part) continue;
    const [first, last] = part.split("-").map(Number) as [number, number | undefined];
    for (let c = first; c <= (last ?? first); c++) cpus.push(c);
  }
  return cpus;
}

export function onlineCpus(file = "/sys/devices/system/cpu/online"): number[] {
  return parseCpuList(readFileSync(file, "utf8"));
}

/** "CPU 0", "CPUs 0-3", "CPUs 0,2-3": what `probegen run` says a clock runs on. */
export function cpusText(cpus: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    ranges.push(j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`);
    i = j;
  }
  return `${cpus.length === 1 ? "CPU" : "CPUs"} ${ranges.join(",")}`;
}
