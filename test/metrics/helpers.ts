/** Shared by the metrics tests: the spec, a command name to filter on, the closes that make known values. */
import { execa } from "execa";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";

export const SPEC = "test/metrics/fdmetrics.yaml";

/** The values the probe sees: fd - 10000 for each close (repeats and gaps on purpose). */
export const CLOSED = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55];

/**
 * A command name only this test file's child takes, with a quote and a backslash (label values
 * come from the kernel and must be escaped): at most 15 bytes, as comm holds.
 */
export function commFor(tag: string): string {
  return `pg"${tag}\\${process.pid % 100000}`;
}

export const COMM = commFor("m");

/** A child names itself `comm` and closes fds 10000 + v (never open: EBADF) for each of CLOSED. */
export async function closeKnownFds(comm = COMM): Promise<void> {
  const script = `process.title = ${JSON.stringify(comm)};
const fs = require("node:fs");
if (fs.readFileSync("/proc/self/comm", "utf8").trim() !== process.title) throw new Error("comm not set");
for (const v of ${JSON.stringify(CLOSED)}) { try { fs.closeSync(10000 + v); } catch {} }`;
  await execa("node", ["-e", script]);
}

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The prometheus server binary on PATH (Debian's package: /usr/bin/prometheus), if any. */
export async function prometheusBinary(): Promise<string | undefined> {
  for (const d of (process.env.PATH ?? "/usr/bin").split(delimiter)) {
    try {
      accessSync(join(d, "prometheus"), constants.X_OK);
      return join(d, "prometheus");
    } catch {
      // not here
    }
  }
  return undefined;
}
