/**
 * A child that spins in a function of known name (`spin_here`), for profiles: built with gcc
 * -O0 -fno-omit-frame-pointer so its user stacks walk; it waits for a byte on stdin, spins for
 * the CPU seconds it was given, says "done", and stays (its /proc/PID/maps readable, its
 * frames nameable) until its stdin ends.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const source = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
void spin_here(double seconds) {
  double end = cpu_seconds() + seconds;
  while (cpu_seconds() < end)
    for (int i = 0; i < 200000; i++) sink += i;
}
int main(int argc, char **argv) {
  char c;
  if (read(0, &c, 1) != 1) return 1;
  spin_here(atof(argv[1]));
  printf("done\\n");
  fflush(stdout);
  while (read(0, &c, 1) > 0) {}
  return 0;
}
`;

/** Compiles the spinner into `dir`; returns its path (its comm is "spinner"). */
export function buildSpinner(dir: string): string {
  const path = join(dir, "spinner");
  writeFileSync(`${path}.c`, source);
  execFileSync("gcc", ["-O0", "-fno-omit-frame-pointer", "-o", path, `${path}.c`]);
  return path;
}

export interface Spinner {
  pid: number;
  /** Starts the spinning. */
  go(): void;
  /** Resolves once it has spun its CPU seconds (rejects if it exits first). */
  done: Promise<void>;
  /** Lets it exit, and waits for that. */
  end(): Promise<void>;
}

/** Starts the spinner, paused until `go()`. */
export function startSpinner(path: string, cpuSeconds: number): Spinner {
  const child = spawn(path, [String(cpuSeconds)]);
  let output = "";
  const done = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      output += d;
      if (output.includes("done")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`spinner exited (${code}) before it was done`)));
  });
  done.catch(() => {});
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { pid: child.pid!, go: () => child.stdin.write("x"), done, end: async () => { child.stdin.end(); await exited; } };
}

/** The file and file offset of a user address, from /proc/PID/maps. */
export function mappingOf(pid: number, address: bigint): { path: string; offset: number } | undefined {
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \S+\s+(.*)$/.exec(line);
    if (!m) continue;
    const [start, end] = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)];
    if (address >= start && address < end) return { path: m[4]!, offset: Number(address - start + BigInt(`0x${m[3]}`)) };
  }
  return undefined;
}
