/**
 * From a map counted by stacks (`key: { comm, ustack, kstack }`, `count: true`) to samples a
 * flame graph or folded-stack file shows: one per distinct key, its frames root first.
 */
import { readFileSync } from "node:fs";
import type { StackSample } from "./flamegraph/index.js";
import type { StackTrace } from "./stack.js";

/** What names frames: the symbolizer (src/runtime/symbolize), or anything shaped like it. */
export interface StackNamer {
  stack(trace: StackTrace): Array<{ text: string; symbol?: string }>;
}

export function isStackTrace(value: unknown): value is StackTrace {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<StackTrace>;
  return (v.kind === "kernel" || v.kind === "user") && Array.isArray(v.addresses) && typeof v.pid === "number";
}

/** Whether a map's entries carry stacks: its key is a stack or has one among its members. */
export function keyHasStack(key: unknown): boolean {
  return isStackTrace(key) || (typeof key === "object" && key !== null && Object.values(key).some(isStackTrace));
}

/**
 * Samples from a map's entries whose keys hold a user stack, a kernel stack, or both, and whose
 * values are counts (a number, a bigint, or a per-CPU `{ total }`). Frames go root first, as
 * perf script | stackcollapse-perf and libbpf-tools' `profile -f` write them: the process's
 * name (the key's `comm`, else /proc/PID/comm, else `pid N`), the user frames from `main`
 * inward, then the kernel frames the user code called into (a sample taken in the kernel has
 * its syscall on top of the user code that made it). Frames are function names, without the
 * offset into the function. Keys that differ only in what the frames do not show (two pids of
 * one command, two places in one function) add up.
 */
export function stackSamples(entries: Iterable<readonly [unknown, unknown]>, namer: StackNamer): StackSample[] {
  const byFrames = new Map<string, StackSample>();
  const names = new Map<number, string>();
  for (const [key, value] of entries) {
    const count = countOf(value);
    if (count === undefined || count === 0) continue;
    const frames = framesOf(key, namer, names);
    const id = JSON.stringify(frames);
    const sample = byFrames.get(id);
    if (sample) sample.count += count;
    else byFrames.set(id, { frames, count });
  }
  return [...byFrames.values()];
}

function framesOf(key: unknown, namer: StackNamer, names: Map<number, string>): string[] {
  const members: unknown[] = isStackTrace(key) ? [key] : typeof key === "object" && key !== null ? Object.values(key) : [];
  const stacks = members.filter(isStackTrace);
  const user = stacks.find((s) => s.kind === "user");
  const kernel = stacks.find((s) => s.kind === "kernel");
  const frames: string[] = [];
  const root = rootName(key, user, names);
  if (root !== undefined) frames.push(root);
  // Symbolizers name frames innermost first, as the kernel walks them. A frame is its function
  // (no +0x offset: a flame graph adds up a function's samples wherever in it they fell).
  const functions = (trace: StackTrace) => namer.stack(trace).map((f) => f.symbol ?? f.text).reverse();
  if (user) frames.push(...functions(user));
  if (kernel) frames.push(...functions(kernel));
  return frames;
}

/** The process a sample belongs to, by name: what flame graphs put at their root. */
function rootName(key: unknown, user: StackTrace | undefined, names: Map<number, string>): string | undefined {
  // A key that is a stack has no members of its own (its pid is the stack's).
  const record = typeof key === "object" && key !== null && !isStackTrace(key) ? (key as Record<string, unknown>) : {};
  if (typeof record.comm === "string" && record.comm !== "") return record.comm;
  const pid = typeof record.pid === "number" ? record.pid : user?.pid;
  if (pid === undefined) return undefined;
  let name = names.get(pid);
  if (name === undefined) {
    name = processName(pid);
    names.set(pid, name);
  }
  return name;
}

function processName(pid: number): string {
  if (pid === 0) return "swapper";
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trimEnd() || `pid ${pid}`;
  } catch {
    return `pid ${pid}`; // the process has exited
  }
}

function countOf(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "object" && value !== null && "total" in value) return countOf((value as { total: unknown }).total);
  return undefined;
}
