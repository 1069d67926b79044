/**
 * Tracepoints as the running kernel describes them in tracefs: the list of events, and each
 * event's record format (the layout of the context a tracepoint program receives).
 */
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { noteAbsent, noteContent, noteListing, notePseudoFile } from "../compiler/inputs.js";
import { tracefsAccess, tracefsProblem } from "../runtime/tracefs-mount.js";
import { tracefsMountPoints } from "./identity.js";
import type { ArrayType, IntType, ScalarOrString } from "../compiler/types.js";
import { parsePrintFmt, type PrintedTable } from "./print-fmt.js";

export type { PrintedTable } from "./print-fmt.js";

export interface TracepointField {
  name: string;
  /** The C declaration's type as tracefs prints it, e.g. "const char *", "__data_loc char[]". */
  cType: string;
  offset: number;
  size: number;
  signed: boolean;
  /** How a program reads this field. */
  access:
    | { kind: "int"; type: IntType }
    | { kind: "user_string" }          // pointer to a user-space string (syscall arguments)
    | { kind: "kernel_string" }        // pointer to a kernel string
    | { kind: "user_string_list" }     // const char *const *argv of a syscall: NULL-terminated pointers to user strings
    | { kind: "pointer" }              // any other pointer: captured as its address
    | { kind: "data_loc_string" }      // __data_loc char[]: string stored inside the record
    | { kind: "char_array"; length: number } // char name[N] inline in the record: text
    | { kind: "array"; type: ArrayType }     // __u8 saddr[4], unsigned long args[6]: copied by value
    | { kind: "unsized_array" };              // u32 buf[]: a trailing array of no fixed length
  /** The names the kernel prints this field's values with (`__print_symbolic`, `__print_flags`). */
  printed?: PrintedTable;
  /** A syscall number: raw_syscalls' `id`, and `__syscall_nr` of every syscalls/* tracepoint. */
  syscallNumber?: boolean;
}

export interface TracepointFormat {
  category: string;
  name: string;
  fields: TracepointField[];
}

export class Tracefs {
  private eventsCache?: Map<string, string[]>;
  /** Each event's format, and the text it was parsed from (noted as an input on every use). */
  private readonly formats = new Map<string, { format: TracepointFormat; text: string } | undefined>();

  /**
   * A mounted tracefs (not a copy, as tests use): its events and formats are the kernel's, so
   * they change only with the kernel, its modules, or a dynamic event (kprobe_events and the
   * like, all listed in dynamic_events). That is how a build notes them (compiler/inputs.ts):
   * reading hundreds of formats again to verify a glob's build would cost more than the build
   * cache saves.
   */
  private readonly mounted: boolean;

  constructor(readonly root: string) {
    this.mounted = isTracefsMount(root);
  }

  /** The mounted tracefs, or undefined when none is mounted (or we may not read it). */
  static find(): Tracefs | undefined {
    const access = tracefsAccess(mountPoints());
    return access.state === "readable" ? new Tracefs(access.root) : undefined;
  }

  /** Why find() found none ("tracefs is not mounted", or not readable), and what to do. */
  static problem(): { reason: string; hint: string } {
    return tracefsProblem(tracefsAccess(mountPoints()));
  }

  /** Notes what the events of this tracefs depend on, for the build manifest. */
  private noteKernelEvents(): boolean {
    if (!this.mounted) return false;
    notePseudoFile("/proc/modules");
    notePseudoFile(join(this.root, "dynamic_events"));
    return true;
  }

  categories(): Map<string, string[]> {
    if (!this.noteKernelEvents()) noteListing(join(this.root, "events"));
    if (!this.eventsCache) {
      const events = new Map<string, string[]>();
      const dir = join(this.root, "events");
      for (const category of readdirSync(dir, { withFileTypes: true })) {
        if (!category.isDirectory()) continue;
        const names = readdirSync(join(dir, category.name), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name);
        events.set(category.name, names);
      }
      this.eventsCache = events;
    }
    return this.eventsCache;
  }

  /** "category/name" for every tracepoint. */
  allNames(): string[] {
    return [...this.categories()].flatMap(([c, names]) => names.map((n) => `${c}/${n}`));
  }

  format(category: string, name: string): TracepointFormat | undefined {
    const key = `${category}/${name}`;
    const file = join(this.root, "events", category, name, "format");
    if (!this.formats.has(key)) {
      const text = existsSync(file) ? readFileSync(file, "utf8") : undefined;
      this.formats.set(key, text === undefined ? undefined : { format: parseFormat(category, name, text), text });
    }
    const read = this.formats.get(key);
    if (this.noteKernelEvents()) {
      // the kernel's own: noted above
    } else if (read) noteContent(file, read.text);
    else noteAbsent(file);
    return read?.format;
  }
}

/** TRACEFS_MAGIC, and DEBUGFS_MAGIC for the older /sys/kernel/debug/tracing. */
const TRACEFS_TYPES = new Set([0x74726163, 0x64626720]);

function isTracefsMount(root: string): boolean {
  try {
    return TRACEFS_TYPES.has(Number(statfsSync(root).type));
  } catch {
    return false;
  }
}

const mountPoints = tracefsMountPoints;

const fieldLine = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

export function parseFormat(category: string, name: string, text: string): TracepointFormat {
  const fields: TracepointField[] = [];
  for (const line of text.split("\n")) {
    const m = fieldLine.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const offset = Number(m[2]);
    const size = Number(m[3]);
    const signed = m[4] === "1";
    const parsed = splitDeclaration(decl);
    if (!parsed || parsed.name.startsWith("common_")) continue;
    fields.push({ ...parsed, offset, size, signed, access: accessOf(category, parsed.cType, parsed.arrayLength, size, signed) });
  }
  const printFmt = /^print fmt:(.*)$/m.exec(text);
  const printed = printFmt ? parsePrintFmt(printFmt[1]!) : new Map<string, PrintedTable>();
  for (const f of fields) {
    const table = printed.get(f.name);
    if (table && f.access.kind === "int") f.printed = table;
    if (f.access.kind === "int" && (f.name === "__syscall_nr" || (category === "raw_syscalls" && f.name === "id"))) f.syscallNumber = true;
  }
  return { category, name, fields };
}

/** "const char * filename" -> { cType: "const char *", name: "filename" }; "char comm[16]" -> array. */
function splitDeclaration(decl: string): { cType: string; name: string; arrayLength?: number } | undefined {
  const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(\d*)\])?$/.exec(decl);
  if (!m) return undefined;
  const cType = m[1]!.trim() + (m[3] !== undefined ? `[${m[3]}]` : "");
  return { cType, name: m[2]!, arrayLength: m[3] ? Number(m[3]) : undefined };
}

/** Sizes of the C integer types tracefs prints, for syscall arguments stored in 8-byte slots. */
const knownIntTypes: Record<string, { size: 1 | 2 | 4 | 8; signed: boolean }> = {
  "char": { size: 1, signed: true }, "signed char": { size: 1, signed: true }, "unsigned char": { size: 1, signed: false },
  "bool": { size: 1, signed: false }, "_Bool": { size: 1, signed: false },
  "short": { size: 2, signed: true }, "unsigned short": { size: 2, signed: false },
  "int": { size: 4, signed: true }, "unsigned int": { size: 4, signed: false }, "unsigned": { size: 4, signed: false },
  "long": { size: 8, signed: true }, "unsigned long": { size: 8, signed: false },
  "long long": { size: 8, signed: true }, "unsigned long long": { size: 8, signed: false },
  "size_t": { size: 8, signed: false }, "ssize_t": { size: 8, signed: true }, "loff_t": { size: 8, signed: true },
  "off_t": { size: 8, signed: true }, "pid_t": { size: 4, signed: true }, "uid_t": { size: 4, signed: false },
  "gid_t": { size: 4, signed: false }, "umode_t": { size: 2, signed: false }, "mode_t": { size: 4, signed: false },
  "dev_t": { size: 4, signed: false }, "key_serial_t": { size: 4, signed: true }, "clockid_t": { size: 4, signed: true },
  "qid_t": { size: 4, signed: false }, "u8": { size: 1, signed: false }, "u16": { size: 2, signed: false },
  "u32": { size: 4, signed: false }, "u64": { size: 8, signed: false }, "s8": { size: 1, signed: true },
  "s16": { size: 2, signed: true }, "s32": { size: 4, signed: true }, "s64": { size: 8, signed: true },
  "__u8": { size: 1, signed: false }, "__u16": { size: 2, signed: false }, "__u32": { size: 4, signed: false },
  "__u64": { size: 8, signed: false }, "__s32": { size: 4, signed: true }, "__s64": { size: 8, signed: true },
};

function accessOf(category: string, cType: string, arrayLength: number | undefined, size: number, signed: boolean): TracepointField["access"] {
  if (cType.startsWith("__data_loc") && cType.includes("char")) return { kind: "data_loc_string" };
  if (cType.endsWith("[]")) return { kind: "unsized_array" };
  if (arrayLength !== undefined) return arrayAccess(cType.replace(/\[\d+\]$/, ""), arrayLength, size, signed);
  if (cType.includes("*")) {
    if (/^(const\s+)?(unsigned\s+)?char\s*\*$/.test(cType.replace(/\s*__user\s*/, " ").trim())) {
      // Syscall arguments point into the calling process; other tracepoints record kernel pointers.
      return category === "syscalls" ? { kind: "user_string" } : { kind: "kernel_string" };
    }
    // execve's argv and envp: a user-space array of user-space strings.
    if (category === "syscalls" && /^(const\s+)?char\s*\*\s*(const\s*)?\*$/.test(cType.replace(/\s*__user\s*/g, " ").trim())) return { kind: "user_string_list" };
    return { kind: "pointer" };
  }
  return { kind: "int", type: intType(cType, size, signed) };
}

/**
 * `char comm[16]` is text; any other array (`__u8 saddr[4]`, `unsigned char addr[6]`,
 * `unsigned long args[6]`) is copied element by element's width, never read as one integer.
 */
function arrayAccess(elementCType: string, length: number, size: number, signed: boolean): TracepointField["access"] {
  const base = elementCType.replace(/\b(const|volatile)\b/g, "").trim();
  if (base === "char") return { kind: "char_array", length };
  const element = intType(base, size / length, signed);
  // An element type we cannot size from the record: keep its bytes.
  if (element.size * length !== size) return { kind: "array", type: { kind: "array", element: { kind: "int", size: 1, signed: false }, length: size } };
  return { kind: "array", type: { kind: "array", element, length } };
}

/** The integer type tracefs's C type names, checked against the size the record gives it. */
function intType(cType: string, size: number, signed: boolean): IntType {
  const base = cType.replace(/\b(const|volatile)\b/g, "").trim();
  const known = knownIntTypes[base];
  // Syscall arguments are stored in 8-byte slots: an int argument reads its own 4 bytes.
  if (known && known.size <= size) return { kind: "int", ...known };
  const width = ([1, 2, 4, 8] as const).find((w) => w === size) ?? 8;
  return { kind: "int", size: width, signed };
}

/**
 * How many strings a list keeps, and how long each, unless a field says (`count:`, `size:`): as
 * libbpf-tools' execsnoop, 20 arguments of up to 127 bytes.
 */
export const DEFAULT_LIST = { count: 20, size: 128 } as const;

/** The type a captured tracepoint field has by default (pointers: their address, when asked); undefined when it cannot be captured. */
export function defaultFieldType(field: TracepointField, stringSize: number): ScalarOrString | undefined {
  switch (field.access.kind) {
    case "user_string_list": return { kind: "string_list", ...DEFAULT_LIST };
    case "int": return field.access.type;
    case "pointer": return { kind: "int", size: 8, signed: false };
    case "char_array": return { kind: "string", size: field.access.length };
    case "array": return field.access.type;
    case "unsized_array": return undefined;
    default: return { kind: "string", size: stringSize };
  }
}
