/** Spawns a command while a probe streams, and returns the events of that child's pid. */
import { spawn } from "node:child_process";

interface Stream<E> {
  on(fn: (event: E) => void): unknown;
}

export async function eventsOfChild<E extends { pid: number }>(events: Stream<E>, command: string, args: string[] = []): Promise<{ pid: number; events: E[] }> {
  const seen: E[] = [];
  events.on((ev) => seen.push(ev));
  const child = spawn(command, args, { stdio: "ignore" });
  await new Promise((resolve) => child.on("exit", resolve));
  // The event was written before the child exited; the reader delivers it within a drain interval.
  const deadline = Date.now() + 1000;
  while (!seen.some((e) => e.pid === child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return { pid: child.pid!, events: seen.filter((e) => e.pid === child.pid) };
}
