/**
 * Finds the file a user-space probe names: a path (`/usr/bin/bash`, `./app`), a shared library
 * by name (`libc`, `libc.so.6`, `pthread`: the copy the dynamic linker would load, so the one
 * processes on this machine map), or a program on PATH (`bash`, `python3`).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

export type Located =
  /**
   * `consulted`: every file and directory whose state decided the answer (a build notes them, so
   * a library or program added earlier in the search, or the file rebuilt, is noticed);
   * `pathEnv`: the answer depends on PATH.
   */
  | { path: string; consulted: string[]; pathEnv?: boolean }
  /** Nothing by that name: `tried` says where we looked, `near` lists names that exist there (for "did you mean"). */
  | { error: string; tried: string; near: string[] };

/** Multiarch triplets of the architectures probegen runs on (Debian's library directories). */
const MULTIARCH: Record<string, string> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };

/** The dynamic linker's search directories: ld.so.conf's includes, then the defaults. */
export function librarySearchDirs(consulted: string[] = []): string[] {
  const dirs: string[] = [];
  const conf = "/etc/ld.so.conf.d";
  consulted.push(conf);
  if (existsSync(conf)) {
    for (const file of readdirSync(conf).filter((f) => f.endsWith(".conf")).sort()) {
      consulted.push(join(conf, file));
      for (const line of readFileSync(join(conf, file), "utf8").split("\n")) {
        const dir = line.trim();
        if (dir.startsWith("/")) dirs.push(dir);
      }
    }
  }
  const triplet = MULTIARCH[process.arch];
  if (triplet) dirs.push(`/lib/${triplet}`, `/usr/lib/${triplet}`);
  dirs.push("/lib64", "/usr/lib64", "/lib", "/usr/lib");
  return [...new Set(dirs)].filter((d) => existsSync(d));
}

/** Whether a file name is library `name`: `libc` is libc.so and libc.so.6, never libcap.so. */
function isLibrary(file: string, name: string): boolean {
  const base = name.startsWith("lib") ? name : `lib${name}`;
  for (const stem of new Set([name, base])) {
    if (file === stem || file === `${stem}.so` || file.startsWith(`${stem}.so.`)) return true;
  }
  return false;
}

/** Looks like a library name rather than a program: `libc`, `libssl.so.3`. */
export function isLibraryName(name: string): boolean {
  return name.startsWith("lib") || /\.so(\.|$)/.test(name);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function locateLibrary(name: string): Located {
  const seen: string[] = [];
  const consulted: string[] = [];
  const dirs = librarySearchDirs(consulted);
  for (const dir of dirs) {
    consulted.push(dir); // a library added to a directory searched first changes what the name means
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    // The exact name first, then the shortest versioned one (libc.so.6 before libc.so.6.0.1).
    const hits = files.filter((f) => isLibrary(f, name) && isFile(join(dir, f))).sort((a, b) => (a === name ? -1 : b === name ? 1 : a.length - b.length || a.localeCompare(b)));
    // A linker script (libc.so on Debian) is text, not ELF: skip files that do not start as one.
    const hit = hits.find((f) => readMagic(join(dir, f)));
    if (hit) return found(join(dir, hit), consulted);
    for (const f of files) if (f.includes(".so")) seen.push(f.replace(/\.so.*/, ""));
  }
  return { error: `no shared library '${name}' in the linker's directories`, tried: dirs.join(", "), near: [...new Set(seen)] };
}

function readMagic(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function locateProgram(name: string, pathEnv: string): Located {
  const dirs = pathEnv.split(delimiter).filter(Boolean);
  const consulted: string[] = [];
  for (const dir of dirs) {
    consulted.push(dir);
    const candidate = join(dir, name);
    if (isFile(candidate)) return { ...found(candidate, consulted), pathEnv: true };
  }
  const near = new Set<string>();
  for (const dir of dirs) {
    try {
      for (const f of readdirSync(dir)) near.add(f);
    } catch {
      /* a PATH entry that does not exist */
    }
  }
  return { error: `no program '${name}' on PATH`, tried: dirs.join(":"), near: [...near] };
}

/**
 * The file `name` means, with symlinks resolved (so a build records where the code really
 * is). A name with a '/' is a path, relative to `cwd`.
 */
export function locateBinary(name: string, opts: { cwd?: string; pathEnv?: string } = {}): Located {
  if (name.includes("/")) {
    const path = isAbsolute(name) ? name : resolve(opts.cwd ?? process.cwd(), name);
    if (!isFile(path)) return { error: `no file ${path}`, tried: path, near: [] };
    return found(path, []);
  }
  if (isLibraryName(name)) return locateLibrary(name);
  return locateProgram(name, opts.pathEnv ?? process.env.PATH ?? "/usr/bin:/bin");
}

/** The file a name led to, symlinks resolved; the name's path and the file are both consulted (a retargeted link, a rebuilt file). */
function found(path: string, consulted: string[]): { path: string; consulted: string[] } {
  const real = realpathSync(path);
  return { path: real, consulted: [...consulted, path, real] };
}
