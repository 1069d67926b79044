/**
 * Writing a spec's outputs so that neither a concurrent build nor a reader ever sees a torn
 * file: each file goes to a temporary name beside it and is renamed into place (atomic within
 * a filesystem), and the files of one probe are compared and replaced together under a short
 * lock, so a .ts never ends up beside another build's .bpf.o.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface OutputFile {
  path: string;
  contents: Uint8Array;
}

/** A lock older than this was left by a build that died holding it. */
const STALE_LOCK_MS = 10_000;
let tmpCounter = 0;

/** The files whose contents on disk differ from `files` (or that are missing). */
export async function changedFiles(files: readonly OutputFile[]): Promise<OutputFile[]> {
  const changed: OutputFile[] = [];
  for (const f of files) {
    if (!existsSync(f.path) || !Buffer.from(await readFile(f.path)).equals(Buffer.from(f.contents))) changed.push(f);
  }
  return changed;
}

/**
 * Writes what changed of `files`, each through a temporary file and a rename, holding
 * `lock` (a directory: mkdir is atomic) while comparing and renaming. Returns what it wrote.
 */
export async function writeOutputs(files: readonly OutputFile[], lock: string): Promise<OutputFile[]> {
  await acquire(lock);
  try {
    const changed = await changedFiles(files);
    for (const f of changed) await replaceFile(f.path, f.contents);
    return changed;
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

async function replaceFile(path: string, contents: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${tmpCounter++}.tmp`);
  try {
    await writeFile(tmp, contents);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function acquire(lock: string): Promise<void> {
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      await mkdir(lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const since = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (since > STALE_LOCK_MS) await rmdir(lock).catch(() => {});
    else await sleep(wait);
  }
}
