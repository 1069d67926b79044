/**
 * `probegen stats [NAME...]`: what `bpftool prog show` and `bpftool map show` say about every
 * loaded BPF program, with run counts and run time measured over an interval. The kernel counts
 * runs only while kernel.bpf_stats_enabled is 1: it is switched on for the interval and put back
 * as it was afterwards (also on Ctrl-C).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { CliError, usageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { DROPS_MAP } from "../runtime/index.js";
import { globMatcher } from "../compiler/index.js";
import { formatTable, humanBytes, humanNs, parseDuration } from "./table.js";

const SYSCTL = "/proc/sys/kernel/bpf_stats_enabled";

interface BpftoolProg {
  id: number;
  type: string;
  name?: string;
  run_time_ns?: number;
  run_cnt?: number;
  bytes_xlated?: number;
  bytes_jited?: number;
  bytes_memlock?: number;
  map_ids?: number[];
  pids?: Array<{ pid: number; comm: string }>;
}

interface BpftoolMap {
  id: number;
  type: string;
  name?: string;
  bytes_memlock?: number;
}

export interface ProgramStats {
  id: number;
  name: string;
  type: string;
  /** Runs and run time during the interval (or since load, with --interval 0). */
  runs: number;
  runTimeNs: number;
  xlatedBytes: number;
  jitedBytes: number;
  mapBytes: number;
  maps: string[];
  probegen: boolean;
  /** pg_drops summed over CPUs: ring buffer reserve failures (probegen programs). */
  drops?: number;
  pids: string[];
}

async function bpftool<T>(args: string[]): Promise<T> {
  try {
    const { stdout } = await execa("bpftool", [...args, "--json"], { stdin: "ignore" });
    return JSON.parse(stdout) as T;
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message?: string };
    if (err.code === "ENOENT") throw new CliError("bpftool is not installed", ExitCode.Kernel, "apt-get install -y bpftool");
    const text = (err.stderr || err.message || String(e)).trim();
    throw new CliError(`bpftool ${args.join(" ")} failed: ${text}`, ExitCode.Kernel, /permitted|EPERM/.test(text) ? "run as root" : undefined);
  }
}

export async function statsCommand(names: string[], flags: { interval: string; probegenOnly: boolean; json: boolean }): Promise<number> {
  const intervalMs = parseDuration(flags.interval);
  if (intervalMs === undefined) throw usageError(`--interval '${flags.interval}' is not a duration`, "e.g. 0, 500ms, 1s, 10s");
  let before: BpftoolProg[] | undefined;
  let restore: string | undefined;
  if (intervalMs > 0) {
    let previous: string;
    try {
      previous = readFileSync(SYSCTL, "utf8").trim();
      if (previous !== "1") writeFileSync(SYSCTL, "1\n");
    } catch (e) {
      throw new CliError(`cannot switch on the kernel's BPF statistics (${SYSCTL}): ${(e as NodeJS.ErrnoException).code ?? e}`, ExitCode.Kernel,
        "run as root, or pass --interval 0 to read the counters as they are");
    }
    if (previous !== "1") restore = previous;
    const putBack = () => {
      if (restore !== undefined) writeFileSync(SYSCTL, `${restore}\n`);
      restore = undefined;
    };
    const onSignal = () => {
      putBack();
      process.exit(130);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      before = await bpftool<BpftoolProg[]>(["prog", "show"]);
      if (!flags.json) process.stderr.write(`counting runs for ${flags.interval} (kernel.bpf_stats_enabled=1${restore !== undefined ? `, back to ${restore} afterwards` : ""}) ...\n`);
      await new Promise((r) => setTimeout(r, intervalMs));
      return await report(names, flags, before, putBack);
    } finally {
      putBack();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
  return report(names, flags, undefined, () => undefined);
}

async function report(names: string[], flags: { probegenOnly: boolean; json: boolean }, before: BpftoolProg[] | undefined, stopCounting: () => void): Promise<number> {
  const progs = await bpftool<BpftoolProg[]>(["prog", "show"]);
  stopCounting();
  const maps = new Map((await bpftool<BpftoolMap[]>(["map", "show"])).map((m) => [m.id, m]));
  const start = new Map((before ?? []).map((p) => [p.id, p]));
  const matchers = names.map((n) => globMatcher(n));
  const rows: ProgramStats[] = [];
  for (const p of progs) {
    const mapList = (p.map_ids ?? []).map((id) => maps.get(id)).filter((m): m is BpftoolMap => !!m);
    const mapNames = mapList.map((m) => m.name ?? "");
    const probegen = mapNames.includes(DROPS_MAP);
    if (flags.probegenOnly && !probegen) continue;
    if (matchers.length && !matchers.some((m) => m(p.name ?? "") || mapNames.some((n) => m(n) || m(n.replace(/\.(rodata|bss|data)$/, ""))))) continue;
    const was = start.get(p.id);
    const stat: ProgramStats = {
      id: p.id, name: p.name ?? "", type: p.type,
      runs: (p.run_cnt ?? 0) - (was?.run_cnt ?? 0),
      runTimeNs: (p.run_time_ns ?? 0) - (was?.run_time_ns ?? 0),
      xlatedBytes: p.bytes_xlated ?? 0, jitedBytes: p.bytes_jited ?? 0,
      mapBytes: mapList.reduce((n, m) => n + (m.bytes_memlock ?? 0), 0),
      maps: mapNames, probegen,
      pids: (p.pids ?? []).map((x) => `${x.comm}(${x.pid})`),
    };
    if (probegen) stat.drops = await drops(mapList.find((m) => m.name === DROPS_MAP)!.id);
    rows.push(stat);
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
  } else if (rows.length === 0) {
    process.stderr.write(names.length || flags.probegenOnly ? "no loaded BPF program matches\n" : "no BPF programs are loaded\n");
  } else {
    const header = ["ID", "NAME", "TYPE", "RUNS", "RUN TIME", "AVG", "XLATED", "JITED", "MAP MEM", "DROPS", "OWNER"];
    process.stdout.write(formatTable(header, rows.map((r) => [
      String(r.id), r.name, r.type, String(r.runs), humanNs(r.runTimeNs), r.runs ? humanNs(r.runTimeNs / r.runs) : "-",
      humanBytes(r.xlatedBytes), humanBytes(r.jitedBytes), humanBytes(r.mapBytes), r.drops === undefined ? "-" : String(r.drops), r.pids.join(" "),
    ]), { rightAlign: header.map((h) => ["ID", "RUNS", "RUN TIME", "AVG", "XLATED", "JITED", "MAP MEM", "DROPS"].includes(h)) }) + "\n");
    if (!before) process.stderr.write("(runs and run time since load, counted only while kernel.bpf_stats_enabled was 1)\n");
  }
  return ExitCode.Ok;
}

/** The object's pg_drops counter: the u64 at the start of its one-entry data map. */
async function drops(mapId: number): Promise<number | undefined> {
  try {
    const entries = await bpftool<Array<{ value?: unknown }>>(["map", "dump", "id", String(mapId)]);
    const raw = entries[0]?.value;
    return Array.isArray(raw) ? leU64(raw.slice(0, 8) as string[]) : undefined;
  } catch {
    return undefined;
  }
}

function leU64(bytes: string[]): number {
  return bytes.reduce((n, b, i) => n + parseInt(b, 16) * 2 ** (8 * i), 0);
}
