/** A process's memory mappings, from /proc/PID/maps. */
import { readFileSync } from "node:fs";

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  /** Where the mapping starts in its file. */
  offset: number;
  dev: string;
  inode: number;
  /** The file, a pseudo-name ("[heap]", "[vdso]", "[anon:...]"), or "" for anonymous memory. */
  path: string;
  /** The file was deleted (or replaced) after it was mapped: the kernel appends " (deleted)". */
  deleted: boolean;
}

/** Lines like "55d4c2a01000-55d4c2a02000 r-xp 00001000 08:01 1234  /usr/bin/cat". */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+(\S+)\s+(\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const deleted = m[7]!.endsWith(" (deleted)");
    out.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      perms: m[3]!,
      offset: parseInt(m[4]!, 16),
      dev: m[5]!,
      inode: Number(m[6]),
      path: deleted ? m[7]!.slice(0, -" (deleted)".length) : m[7]!,
      deleted,
    });
  }
  return out.sort((a, b) => (a.start < b.start ? -1 : 1));
}

/** The process's mappings, or why they cannot be read (the process is gone, or not ours to see). */
export function readMaps(pid: number): Mapping[] | { reason: string } {
  if (!Number.isSafeInteger(pid) || pid < 0) return { reason: `${pid} is not a process id` };
  if (pid === 0) return { reason: "pid 0 is the kernel's idle task: it has no user space" };
  try {
    return parseMaps(readFileSync(`/proc/${pid}/maps`, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return { reason: `process ${pid} has exited` };
    return { reason: `cannot read /proc/${pid}/maps: ${code ?? (e as Error).message}` };
  }
}

/** The mapping that holds `address` (mappings sorted by start). */
export function findMapping(maps: readonly Mapping[], address: bigint): Mapping | undefined {
  let lo = 0;
  let hi = maps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (maps[mid]!.start <= address) lo = mid + 1;
    else hi = mid;
  }
  const m = maps[lo - 1];
  return m && address < m.end ? m : undefined;
}

/** A real file (not "[heap]", "[vdso]", anonymous memory or a memfd's "/memfd:..."). */
export function isFileMapping(m: Mapping): boolean {
  return m.path.startsWith("/") && m.inode !== 0 && !m.path.startsWith("/memfd:");
}
