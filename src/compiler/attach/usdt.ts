/**
 * usdt/PATH:PROVIDER:NAME: a static probe a program ships (<sys/sdt.h>'s STAP_PROBE, DTrace
 * providers: Python, Node, PostgreSQL, libc). PATH is a file, a library by name or a program on
 * PATH; the probe is looked up in its `.note.stapsdt` notes, which also say how many arguments
 * it has and their sizes. libbpf attaches it (every site of the probe, its semaphore counted
 * up while attached) and its usdt.bpf.h reads the arguments at the probe site.
 */
import { ElfError, ElfFile } from "../../elf/elf-file.js";
import { locateBinary } from "../../elf/locate.js";
import { noteLocated } from "../inputs.js";
import { usdtProbes, type UsdtArgument, type UsdtProbe } from "../../elf/usdt.js";
import { didYouMean } from "../suggest.js";
import { u64, i64, type IntType } from "../types.js";
import type { AttachContext, AttachKind } from "./kind.js";

export interface UsdtPoint {
  kind: "usdt";
  /** The file as the spec names it (`/usr/bin/python3`, `libc`): how sections and `probe` name the point. */
  file: string;
  /**
   * What the runtime attaches to: an absolute path as written (the file installed at load, as a
   * symlink then points), else where the name or relative path was found at build.
   */
  path: string;
  provider: string;
  name: string;
  /** Each argument's type, from the sizes the probe's notes give (`-4@...` is i32). */
  argumentTypes: IntType[];
}

// What may reach the generated C (a SEC() string, a comment) from a file name or a note.
const SAFE_PATH = /^[A-Za-z0-9._/+@-]+$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GLOB = /[*?[\]{}]/;

const EM_X86_64 = 62;

/** The file a target's PATH names, its probes and machine; undefined after a failure it reported. */
function probesOf(written: string, ctx: AttachContext): { path: string; probes: UsdtProbe[]; machine: number } | undefined {
  if (!written) return ctx.fail("invalid-attach", "a usdt target names a file: usdt/PATH:PROVIDER:NAME", "e.g. usdt//usr/bin/python3:python:function__entry");
  if (GLOB.test(written)) return ctx.fail("invalid-attach", `the file of a usdt target cannot be a pattern ('${written}')`, "name one file; the PROVIDER:NAME part may be a glob (usdt/PATH:*)");
  const found = locateBinary(written);
  if ("error" in found) {
    return ctx.fail("unknown-file", `${found.error}.${didYouMean(written, found.near)}`, `looked in ${found.tried}; name the file by its path`);
  }
  noteLocated(found);
  if (!SAFE_PATH.test(written) || !SAFE_PATH.test(found.path)) {
    return ctx.fail("invalid-attach", `probegen attaches to files whose path has only letters, digits and . _ / + @ -, and ${JSON.stringify(written)} is ${JSON.stringify(found.path)}`,
      "link it from such a path and name the link");
  }
  let elf: ElfFile | undefined;
  try {
    elf = ElfFile.open(found.path);
    return { path: found.path, probes: usdtProbes(elf), machine: elf.machine };
  } catch (e) {
    if (e instanceof ElfError) {
      // A program on PATH may be a wrapper (pyenv's shims are scripts): the binary is elsewhere.
      return ctx.fail("invalid-file", `cannot read the USDT probes of ${written.includes("/") ? "the file" : `'${written}'`}: ${e.message}`,
        written.includes("/") ? "name an ELF executable or shared library" : "name the ELF executable or library by its path (e.g. /usr/bin/python3)");
    }
    throw e;
  } finally {
    elf?.close();
  }
}

function noProbes(written: string, path: string, ctx: AttachContext): undefined {
  return ctx.fail("unknown-probe", `${fileName(written, path)} has no USDT probes (no .note.stapsdt notes)`,
    "name a binary built with <sys/sdt.h> probes (Debian's /usr/bin/python3 has them; pyenv's python does not): readelf -n FILE lists them");
}

/** `PROVIDER:NAME` of every probe of a file, once each, in note order. */
function probeNames(probes: UsdtProbe[]): string[] {
  return [...new Set(probes.map((p) => `${p.provider}:${p.name}`))];
}

/** The file as messages name it: as written, and where that led when it is elsewhere (python3 on PATH may not be the one with the probes). */
function fileName(written: string, path: string): string {
  if (written === path) return path;
  return `${written.includes("/") ? written : `'${written}'`} (${path})`;
}

/**
 * The type a spec sees for argument `index` of every site of a probe: the note's size and
 * sign; sites that disagree (the compiler placed it differently) get the 64-bit type of their sign.
 */
function argumentType(sites: UsdtProbe[], index: number): IntType {
  const args = sites.map((s) => s.arguments[index]!);
  const first = args[0]!;
  if (args.every((a) => a.size === first.size && a.signed === first.signed)) return typeOf(first);
  return args.some((a) => a.signed) ? i64 : u64;
}

function typeOf(a: UsdtArgument): IntType {
  return { kind: "int", size: a.size, signed: a.signed };
}

export const usdt: AttachKind<UsdtPoint> = {
  prefixes: ["usdt"],
  targetNoun: "USDT probe",
  candidates(ctx, pattern = "") {
    const colon = pattern.indexOf(":");
    if (colon < 0) return ctx.fail("invalid-attach", `'usdt/${pattern}' names no file: write usdt/PATH:PROVIDER:NAME`, "list a file's probes with: probegen list 'usdt/PATH:*'");
    const written = pattern.slice(0, colon);
    const found = probesOf(written, ctx);
    if (found?.probes.length === 0) return noProbes(written, found.path, ctx);
    return found && probeNames(found.probes).map((n) => `${written}:${n}`);
  },
  resolve(target, ctx) {
    const [written = "", provider, name, ...rest] = target.split(":");
    if (provider === undefined || name === undefined || rest.length > 0) {
      return ctx.fail("invalid-attach", `'usdt/${target}' is not usdt/PATH:PROVIDER:NAME${rest.length ? " (a PATH cannot hold ':')" : ""}`,
        "e.g. usdt//usr/bin/python3:python:function__entry; list a file's probes with: probegen list 'usdt/PATH:*'");
    }
    const found = probesOf(written, ctx);
    if (!found) return undefined;
    const { path, probes } = found;
    if (probes.length === 0) return noProbes(written, path, ctx);
    const sites = probes.filter((p) => p.provider === provider && p.name === name);
    if (sites.length === 0) {
      const names = probeNames(probes);
      return ctx.fail("unknown-probe", `${fileName(written, path)} has no USDT probe '${provider}:${name}'.${didYouMean(`${provider}:${name}`, names)}`,
        `its probes: ${names.slice(0, 30).join(", ")}${names.length > 30 ? ", ..." : ""}`);
    }
    if (!IDENTIFIER.test(provider) || !IDENTIFIER.test(name)) {
      return ctx.fail("invalid-attach", `USDT probe '${provider}:${name}' of ${path} is not named by C identifiers, which probegen needs`);
    }
    // libbpf reads every argument of a site when it attaches, and refuses the probe if it cannot read one.
    const unreadable = found.machine === EM_X86_64 && sites.flatMap((s) => s.arguments).find((a) => a.location.kind === "other");
    if (unreadable) {
      return ctx.fail("unsupported-probe", `USDT probe '${provider}:${name}' of ${path} has an argument at '${unreadable.text}', which libbpf cannot read, so it cannot attach the probe`,
        "libbpf reads arguments in a register (%rdi), in memory at a register and offset (-8(%rbp)) or constant ($5); a global's sym(%rip) is not one of them");
    }
    const count = Math.min(...sites.map((s) => s.arguments.length));
    return { kind: "usdt", file: written, path: written.startsWith("/") ? written : path, provider, name, argumentTypes: Array.from({ length: count }, (_, i) => argumentType(sites, i)) };
  },
  // libbpf's own form; the runtime attaches from the descriptor below, never by this string.
  section: (p) => `usdt/${p.file}:${p.provider}:${p.name}`,
  // With the file attached when that is not the one written: the C then changes with it (and so the build cache's key).
  title: (p) => `usdt ${p.provider}:${p.name} in ${p.file}${p.path !== p.file ? ` (${p.path})` : ""}`,
  owner: (p) => `USDT probe ${p.provider}:${p.name}`,
  programName: (p) => `${p.provider}_${p.name}`,
  arguments: (p) => ({ kind: "args", ctx: "usdt", limit: p.argumentTypes.length, types: p.argumentTypes }),
  returnValue: () => undefined,
  unknownNameHint(p, name) {
    if (!/^arg[0-9]+$/.test(name)) return undefined;
    const n = p.argumentTypes.length;
    return `USDT probe ${p.provider}:${p.name} has ${n === 0 ? "no arguments" : n === 1 ? "1 argument: arg0" : `${n} arguments: arg0 to arg${n - 1}`}`;
  },
  context: () => ({ type: "struct pt_regs", ptRegs: true, usdt: true }),
  runtime: (p) => ({ kind: "usdt" as const, path: p.path, provider: p.provider, name: p.name }),
};
