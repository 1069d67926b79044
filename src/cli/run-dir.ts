/**
 * `probegen run` builds into a temporary directory named with its pid
 * (TMPDIR/probegen-run-PID-XXXXXX). It is removed when the run ends, however it ends: normally,
 * by process.exit, or by SIGINT/SIGTERM before the run has its own handlers. A run killed by
 * SIGKILL cannot clean up, so each run first removes the directories of runs whose pid is dead.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "probegen-run-";
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

export interface RunDir {
  readonly path: string;
  /**
   * From creation until this is called, SIGINT/SIGTERM remove the directory and exit with
   * 128 + the signal's number, as the signal itself would have. Call it when the run handles
   * signals itself.
   */
  releaseSignals(): void;
  /** Removes the directory now and stops watching for signals (idempotent). */
  remove(): void;
}

export function createRunDir(): RunDir {
  removeDeadRunDirs();
  // The handlers come first: a signal that arrives once the directory exists must find them.
  let path: string | undefined;
  const remove = () => {
    if (path) rmSync(path, { recursive: true, force: true });
  };
  process.on("exit", remove);
  const handlers = Object.entries(SIGNALS).map(([signal, number]) => {
    const handler = () => process.exit(128 + number); // the exit hook removes the directory
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  const releaseSignals = () => handlers.splice(0).forEach((off) => off());
  path = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  return {
    path,
    releaseSignals,
    remove() {
      releaseSignals();
      remove();
      process.off("exit", remove);
    },
  };
}

/** Removes TMPDIR/probegen-run-PID-* whose process is gone (a run killed by SIGKILL). */
export function removeDeadRunDirs(dir = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || alive(pid)) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      // another user's, or being removed by another run: not ours to insist on
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}
