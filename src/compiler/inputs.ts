/**
 * The files a spec's front end read, recorded while it runs, so the build manifest (cache.ts)
 * can tell later, without running the front end again, whether they are still what they were.
 *
 * Readers note what they use, each time they use it (a reader that caches its parse for the
 * process still notes it for every spec that asks):
 *  - a regular file (an ELF a uprobe names, a kernel header, a BTF file) by its stat: device,
 *    inode, size, and modification and change times in nanoseconds. A rebuilt binary, an edited
 *    header or a `touch` changes them; `touch -d` cannot reset the change time;
 *  - a directory searched for a name (PATH, the linker's directories) by its stat too: adding
 *    or removing an entry changes its modification time;
 *  - a pseudo-file (/proc/modules, tracefs' dynamic_events, a tracepoint format in a copy of
 *    tracefs), whose stat says nothing, by a hash of its contents, read again to verify;
 *  - a directory tree listed (tracefs' events, for globs) by a hash of the names in it;
 *  - a file that was looked for and not found, and an environment variable that was used.
 *
 * The front end is synchronous, so one recording at a time is all there is; a note made while
 * nothing records costs one comparison.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export type Input =
  | { path: string; stat: string }
  | { path: string; sha256: string }
  | { path: string; listing: string }
  | { path: string; absent: true }
  | { env: string; value: string | null };

let recording: Map<string, Input> | undefined;

/** Runs `fn` (synchronous) and returns what it returned with every input it noted. */
export function recordInputs<T>(fn: () => T): { value: T; inputs: Input[] } {
  const outer = recording;
  const inputs = new Map<string, Input>();
  recording = inputs;
  try {
    return { value: fn(), inputs: [...inputs.values()] };
  } finally {
    recording = outer;
  }
}

function note(input: Input): void {
  if (!recording) return;
  recording.set("env" in input ? `env:${input.env}` : input.path, input);
}

/** A regular file or a directory, by its stat; a path that does not exist is noted as absent. */
export function noteFile(path: string): void {
  if (!recording) return;
  const stat = statOf(path);
  note(stat === undefined ? { path, absent: true } : { path, stat });
}

/** A file read in full whose stat means nothing (tracefs, /proc): by its contents. */
export function noteContent(path: string, contents: string | Uint8Array): void {
  if (recording) note({ path, sha256: sha256(contents) });
}

/** A small pseudo-file (/proc/modules) by its contents, read here; absent when there is none. */
export function notePseudoFile(path: string): void {
  if (!recording || recording.has(path)) return;
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch {
    return note({ path, absent: true });
  }
  note({ path, sha256: sha256(contents) });
}

/** A file looked for and not there. */
export function noteAbsent(path: string): void {
  if (recording) note({ path, absent: true });
}

/** The names under `dir`, two levels deep (tracefs: events/CATEGORY/NAME). */
export function noteListing(dir: string): void {
  if (recording) note({ path: dir, listing: listingOf(dir) });
}

export function noteEnv(name: string): void {
  if (recording) note({ env: name, value: process.env[name] ?? null });
}

/** What decided where a uprobe's file is (elf/locate.ts): the files and directories, and PATH. */
export function noteLocated(located: { consulted: string[]; pathEnv?: boolean }): void {
  if (!recording) return;
  for (const path of located.consulted) noteFile(path);
  if (located.pathEnv) noteEnv("PATH");
}

/** Files noted outside a recording (the headers clang read), by their stat now. */
export function statInputs(paths: readonly string[]): Input[] {
  return paths.map((path) => {
    const stat = statOf(path);
    return stat === undefined ? { path, absent: true } : { path, stat };
  });
}

/**
 * What the files are now, asked once per file for all the specs of one build (they share
 * headers, formats and /proc files). Undefined: the file is not there.
 */
export class InputProbe {
  private readonly stats = new Map<string, string | undefined>();
  private readonly contents = new Map<string, string | undefined>();

  stat(path: string): string | undefined {
    if (!this.stats.has(path)) this.stats.set(path, statOf(path));
    return this.stats.get(path);
  }

  sha256(path: string): string | undefined {
    if (!this.contents.has(path)) {
      let hash: string | undefined;
      try {
        hash = sha256(readFileSync(path));
      } catch {
        // not there
      }
      this.contents.set(path, hash);
    }
    return this.contents.get(path);
  }
}

/** Whether every input is still what it was when noted. */
export function inputsUnchanged(inputs: readonly Input[], now = new InputProbe()): boolean {
  return inputs.every((input) => {
    if ("env" in input) return (process.env[input.env] ?? null) === input.value;
    if ("absent" in input) return now.stat(input.path) === undefined;
    if ("stat" in input) return now.stat(input.path) === input.stat;
    if ("listing" in input) return listingOf(input.path) === input.listing;
    return now.sha256(input.path) === input.sha256;
  });
}

/** A file as stat sees it: device, inode, size, modification and change times; undefined when absent. */
export function statOf(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function listingOf(dir: string): string {
  const h = createHash("sha256");
  try {
    for (const top of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      h.update(`${top.name}\0`);
      if (!top.isDirectory()) continue;
      for (const name of readdirSync(join(dir, top.name)).sort()) h.update(`${top.name}/${name}\0`);
    }
  } catch {
    h.update("\0unreadable");
  }
  return h.digest("hex");
}

function sha256(bytes: string | Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
