// BpfError: every failure the runtime reports, with the errno's name, a
// plain-words explanation and, for load failures, the trimmed verifier log.
import { constants } from "node:os";

import { explainPermissionDenied, memlockLimitApplies } from "./privileges.js";
import { tracefsAccess, tracefsProblem } from "./tracefs-mount.js";
import { parseLibbpfLog, trimVerifierLog } from "./verifier-log.js";

/** libbpf's own error codes (libbpf.h, enum libbpf_errno). */
const LIBBPF_CODES: Record<number, [string, string]> = {
  4000: ["LIBBPF_ERRNO__LIBELF", "libelf failed while reading the object file"],
  4001: ["LIBBPF_ERRNO__FORMAT", "the object file is not a valid BPF ELF file"],
  4002: ["LIBBPF_ERRNO__KVERSION", "the object's 'version' section is wrong or missing"],
  4003: ["LIBBPF_ERRNO__ENDIAN", "the object was compiled for the other byte order"],
  4004: ["LIBBPF_ERRNO__INTERNAL", "libbpf hit an internal error"],
  4005: ["LIBBPF_ERRNO__RELOC", "a relocation in the object could not be applied"],
  4006: ["LIBBPF_ERRNO__LOAD", "the kernel refused to load the program"],
  4007: ["LIBBPF_ERRNO__VERIFY", "the kernel verifier rejected the program"],
  4008: ["LIBBPF_ERRNO__PROG2BIG", "the program has too many instructions"],
  4009: ["LIBBPF_ERRNO__KVER", "the kernel version the program was built for does not match"],
  4010: ["LIBBPF_ERRNO__PROGTYPE", "this kernel does not support the program type"],
  4011: ["LIBBPF_ERRNO__WRNGPID", "a netlink reply came from the wrong process"],
  4012: ["LIBBPF_ERRNO__INVSEQ", "a netlink reply came out of order"],
  4013: ["LIBBPF_ERRNO__NLPARSE", "a netlink reply could not be parsed"],
};

/** Plain words for the errnos BPF calls return (the seed's table, extended). */
const EXPLANATIONS: Record<string, string> = {
  EACCES:
    "permission denied: for a program load this almost always means the verifier rejected the program (see the verifier log); " +
    "otherwise the program type does not fit the attach point or a capability is missing",
  EINVAL:
    "invalid argument: the kernel refused a malformed request, such as a map or program type it does not support, " +
    "a bad flag, or a map type mismatch",
  E2BIG:
    "too big: the program exceeds the verifier's instruction or complexity limits, or a key, value or map size is " +
    "larger than the kernel allows",
  ENOENT:
    "no such entry: the map key does not exist, or the attach point (tracepoint, kernel function) does not exist on this kernel",
  EEXIST: "entry exists: the key is already in the map and the update asked for 'noexist' (BPF_NOEXIST)",
  ENOMEM:
    "out of memory: the map is full (max_entries reached), the ring buffer is full, or the kernel could not allocate " +
    "memory (check the locked-memory limit)",
  E2BIG_MAP: "the map is full (max_entries reached)",
  ENOSPC: "no space left: a buffer (often the verifier log) was too small",
  EBADF: "bad file descriptor: the map, program or object was already closed",
  EFAULT: "bad address: the kernel could not read or write a buffer that was passed to it",
  EBUSY: "busy: the resource is in use (for example, a program is already attached there)",
  ESRCH: "no such process or object: the kernel object was not found",
  ENODEV: "no such device: the device or interface to attach to does not exist",
  EOPNOTSUPP: "not supported: this kernel (or this map/program type) does not support the operation",
  ENOTSUPP: "not supported: this kernel (or this map/program type) does not support the operation",
  ENOTSUP: "not supported: this kernel (or this map/program type) does not support the operation",
  EAGAIN: "try again: the resource was temporarily unavailable",
  EINTR: "interrupted: the call was interrupted by a signal",
};

const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);
}
ERRNO_NAMES.set(524, "ENOTSUPP"); // kernel-internal, leaks out of BPF syscalls
ERRNO_NAMES.set(constants.errno.EOPNOTSUPP, "EOPNOTSUPP"); // same value as ENOTSUP on Linux

export function errnoName(errno: number): string {
  return LIBBPF_CODES[errno]?.[0] ?? ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/**
 * Plain words for an errno from `operation`; `attach` (a SEC()-style attach string) lets an
 * attach failure name its real cause, such as tracefs not being mounted.
 */
export function explainErrno(errno: number, operation = "", attach = ""): string {
  const libbpf = LIBBPF_CODES[errno];
  if (libbpf) return libbpf[1];
  const code = errnoName(errno);
  if (operation === "attach" && /^(tracepoint|tp)\//.test(attach)) {
    const access = tracefsAccess();
    if (access.state !== "readable") {
      const { reason, hint } = tracefsProblem(access);
      return `${reason}, so the tracepoint's id cannot be read to attach to it; ${hint}`;
    }
  }
  if (operation === "map.pin" && (code === "EACCES" || code === "EPERM")) {
    return "permission denied: this user may not create pins in bpffs (only root may write in /sys/fs/bpf); run it as root";
  }
  if (code === "EPERM") return explainPermissionDenied();
  if (operation === "map.update" && code === "E2BIG") return EXPLANATIONS.E2BIG_MAP;
  if (operation === "map.update" && code === "ENOENT") {
    return "no such entry: the key is not in the map and the update asked for 'exist' (BPF_EXIST)";
  }
  if (operation === "attach" && /^u(ret)?probe\//.test(attach)) {
    if (code === "ENOENT") return "no such file or function: the program or library, or the function in it, is not on this machine";
    if (code === "ESRCH") return "no such process: the process the probe was restricted to (the pid option, run --pid) is not running";
  }
  if (operation === "attach" && code === "ENOENT") {
    return (
      "no such entry: the attach point does not exist on this kernel (a misspelled or missing tracepoint or " +
      "kernel function, or a kernel without kprobe support)"
    );
  }
  return EXPLANATIONS[code] ?? "the kernel returned this error";
}

export interface BpfErrorInit {
  operation: string;
  errno: number;
  /** What was being done, e.g. `update in map 'counts' failed`. */
  detail: string;
  program?: string;
  /** Where the program was being attached (SEC()-style, e.g. "tracepoint/syscalls/sys_enter_openat"). */
  attach?: string;
  map?: string;
  object?: string;
  /** Spec file and line of the program, from the ObjectDefinition. */
  source?: string;
  line?: number;
  verifierLog?: string;
  verifierMessage?: string;
  verifierExplanation?: string;
  sourceLine?: string;
  libbpfLog?: string;
  cause?: unknown;
}

const UPDATE_FLAGS = ["any", "noexist", "exist"];

export class BpfError extends Error {
  operation: string;
  /** What was being done, without the errno part of the message. */
  detail: string;
  errno: number;
  code: string;
  explanation: string;
  verifierLog?: string;
  program?: string;
  attach?: string;
  map?: string;
  object?: string;
  /** The verifier's final message, e.g. "R0 invalid mem access 'map_value_or_null'". */
  verifierMessage?: string;
  /** Plain words for a known verifier message. */
  verifierExplanation?: string;
  /** The last `; source` line before the failure, e.g. "*value += 1; @ x.bpf.c:17". */
  sourceLine?: string;
  /** Everything libbpf printed during the call (untrimmed). */
  libbpfLog?: string;

  constructor(init: BpfErrorInit) {
    const code = errnoName(init.errno);
    const explanation = explainErrno(init.errno, init.operation, init.attach);
    super(formatMessage(init, code, explanation), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "BpfError";
    this.operation = init.operation;
    this.detail = init.detail;
    this.errno = init.errno;
    this.code = code;
    this.explanation = explanation;
    for (const key of ["verifierLog", "program", "attach", "map", "object", "verifierMessage", "verifierExplanation", "sourceLine", "libbpfLog"] as const) {
      if (init[key] !== undefined) this[key] = init[key];
    }
  }
}

function formatMessage(init: BpfErrorInit, code: string, explanation: string): string {
  const where = init.source ? ` (${init.source}${init.line ? `:${init.line}` : ""})` : "";
  let head: string;
  if (init.program && init.verifierMessage) {
    head = `${init.detail}: program '${init.program}'${init.attach ? ` (for ${init.attach})` : ""}${where} was rejected by the verifier: ${code} (errno ${init.errno})`;
  } else if (init.program && !init.detail.includes(`'${init.program}'`)) {
    head = `${init.detail}: program '${init.program}'${where}: ${code} (errno ${init.errno})`;
  } else {
    head = `${init.detail}${where}: ${code} (errno ${init.errno})`;
  }
  const lines = [head];
  if (init.verifierMessage) lines.push(`  verifier: ${init.verifierMessage}`);
  if (init.sourceLine) lines.push(`  source:   ${init.sourceLine}`);
  if (init.verifierExplanation) lines.push(`  why:      ${init.verifierExplanation}`);
  let meaning = explanation;
  if (init.operation === "map.update" && code === "EEXIST") {
    meaning = `the key is already in map '${init.map ?? "?"}' and the update used flags 'noexist', which only inserts new keys`;
  }
  lines.push(`  ${code}:${" ".repeat(Math.max(1, 9 - code.length))}${meaning}`);
  if (init.verifierLog) lines.push("  verifier log (trimmed):", ...init.verifierLog.split("\n").map((l) => `    ${l}`));
  else if (init.libbpfLog) lines.push("  libbpf:", ...lastLines(withoutStaleAdvice(init.libbpfLog), 8).map((l) => `    ${l}`));
  return lines.join("\n");
}

/** libbpf suggests raising 'ulimit -l' on any EPERM as root; since 5.11 that limit no longer applies. */
function withoutStaleAdvice(log: string): string {
  return memlockLimitApplies() ? log : log.split("\n").filter((l) => !l.includes("try raising 'ulimit -l'")).join("\n");
}

function lastLines(text: string, n: number): string[] {
  return text.split("\n").filter((l) => l.trim() !== "").slice(-n);
}

/** The factory handed to the native addon: (operation, errno, message, extra) => BpfError. */
export function makeNativeError(operation: string, errno: number, detail: string, extra?: Record<string, unknown>): Error {
  const init: BpfErrorInit = { operation, errno, detail };
  if (extra) {
    if (typeof extra.program === "string") init.program = extra.program;
    if (typeof extra.map === "string") init.map = extra.map;
    if (typeof extra.libbpfLog === "string" && extra.libbpfLog !== "") {
      init.libbpfLog = extra.libbpfLog;
      const parsed = parseLibbpfLog(extra.libbpfLog);
      const failed = parsed.programs.find((p) => p.failed) ?? parsed.programs[0];
      if (failed) {
        init.program ??= failed.name;
        if (failed.log) {
          const trimmed = trimVerifierLog(failed.log);
          init.verifierLog = trimmed.text;
          init.verifierMessage = trimmed.message || undefined;
          init.verifierExplanation = trimmed.explanation;
          init.sourceLine = trimmed.sourceLine;
        }
      }
    }
    if (typeof extra.flags === "number" && operation === "map.update") {
      init.detail = `${detail} (flags: ${UPDATE_FLAGS[extra.flags] ?? extra.flags})`;
    }
  }
  return new BpfError(init);
}

/** Re-creates a native error with the spec's context (object name, source file and line). */
export function withContext(err: unknown, context: { object: string; source?: string; lines?: Map<string, number>; attach?: string; attachOf?: Map<string, string> }): unknown {
  if (!(err instanceof BpfError)) return err;
  const line = err.program ? context.lines?.get(err.program) : undefined;
  // One spec entry may build a program per attach point: a rejected one names its own.
  return new BpfError({
    operation: err.operation,
    errno: err.errno,
    detail: err.detail,
    program: err.program,
    attach: context.attach ?? err.attach ?? (err.program ? context.attachOf?.get(err.program) : undefined),
    map: err.map,
    object: context.object,
    source: context.source,
    line,
    verifierLog: err.verifierLog,
    verifierMessage: err.verifierMessage,
    verifierExplanation: err.verifierExplanation,
    sourceLine: err.sourceLine,
    libbpfLog: err.libbpfLog,
    cause: err.cause,
  });
}
