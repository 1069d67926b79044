// Pure helpers over libbpf's printed output and the kernel verifier log:
// find which program failed, keep the last instructions before the failure
// with their `; source` lines, and explain the verifier messages we know.

export interface ProgramLoadLog {
  name: string;
  /** True when libbpf reported that this program failed to load. */
  failed: boolean;
  /** The verifier log between libbpf's BEGIN/END PROG LOAD LOG markers. */
  log: string;
}

export interface ParsedLibbpfLog {
  programs: ProgramLoadLog[];
  /** libbpf's other lines (map creation, relocation, attach problems). */
  other: string[];
}

const BEGIN = /^libbpf: prog '([^']+)': -- BEGIN PROG LOAD LOG --$/;
const END = /^-- END PROG LOAD LOG --$/;
const FAILED = /^libbpf: prog '([^']+)': (?:BPF program load failed|failed to load)/;

export function parseLibbpfLog(text: string): ParsedLibbpfLog {
  const programs = new Map<string, ProgramLoadLog>();
  const other: string[] = [];
  const get = (name: string) => {
    let p = programs.get(name);
    if (!p) programs.set(name, (p = { name, failed: false, log: "" }));
    return p;
  };
  let inLog: ProgramLoadLog | undefined;
  const body: string[] = [];
  for (const line of text.split("\n")) {
    if (inLog) {
      if (END.test(line)) {
        inLog.log = body.join("\n");
        body.length = 0;
        inLog = undefined;
      } else {
        body.push(line);
      }
      continue;
    }
    const begin = BEGIN.exec(line);
    if (begin) {
      inLog = get(begin[1]);
      continue;
    }
    const failed = FAILED.exec(line);
    if (failed) get(failed[1]).failed = true;
    if (line.trim() !== "") other.push(line);
  }
  if (inLog) inLog.log = body.join("\n"); // truncated output: keep what arrived
  return { programs: [...programs.values()], other };
}

export interface TrimmedVerifierLog {
  /** The kept part of the log: source lines and the last instructions, then the message. */
  text: string;
  /** The verifier's final message (may span a few lines). */
  message: string;
  /** The last `; source` line before the failure, without the leading "; ". */
  sourceLine?: string;
  /** "file.c:17" when the kernel printed one (`; code @ file.c:17`). */
  location?: string;
  explanation?: string;
}

const INSN = /^\d+: \(/; // "7: (79) r1 = *(u64 *)(r0 +0)"
const STATE = /^(\d+: )?(R\d+|frame\d+)[=_:]/; // "0: R1=ctx() R10=fp0" — register state, not an instruction
const SOURCE = /^; /;
const TRAILER = [
  /^processed \d+ insns/,
  /^verification time/,
  /^stack depth/,
  /^-- END PROG LOAD LOG --/,
  /^libbpf: /,
];

export function trimVerifierLog(log: string, maxInsns = 8): TrimmedVerifierLog {
  const lines = log.split("\n").map((l) => l.trimEnd());
  while (lines.length && (lines[lines.length - 1] === "" || TRAILER.some((r) => r.test(lines[lines.length - 1])))) lines.pop();

  // The message is the block of plain lines at the end (not insns, state or source).
  let end = lines.length;
  let start = end;
  while (start > 0 && end - start < 4) {
    const l = lines[start - 1];
    if (l === "" || INSN.test(l) || SOURCE.test(l) || STATE.test(l)) break;
    start--;
  }
  const message = lines.slice(start, end).join("\n").trim();

  // Walk back over the instructions that led there, keeping their source lines.
  const kept: string[] = [];
  let insns = 0;
  let i = start - 1;
  for (; i >= 0 && insns < maxInsns; i--) {
    const l = lines[i];
    if (INSN.test(l)) insns++;
    else if (!SOURCE.test(l)) continue; // drop register-state dumps and noise
    kept.unshift(l);
  }
  // Make sure the window shows a source line even for long source-less stretches.
  if (!kept.some((l) => SOURCE.test(l))) {
    for (; i >= 0; i--) {
      if (SOURCE.test(lines[i])) {
        kept.unshift(lines[i], "...");
        break;
      }
    }
  }
  // Keep `; source` lines that carry code (the kernel also prints `;  @ file:0`).
  const sourceLines = kept.filter((l) => SOURCE.test(l) && !/^;\s*@/.test(l));
  const last = sourceLines[sourceLines.length - 1];
  const sourceLine = last?.replace(/^;\s?/, "").trim();
  const location = sourceLine ? /@ (\S+:\d+)\s*$/.exec(sourceLine)?.[1] : undefined;

  const text = [...kept, message].filter((l) => l !== "").join("\n");
  return { text, message, sourceLine, location, explanation: explainVerifierMessage(message) };
}

/** Plain words for verifier messages users commonly hit; undefined when unknown. */
export function explainVerifierMessage(message: string): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /R(\d+) invalid mem access '([^']+)'/.exec(message))) {
    const [, reg, type] = m;
    if (type.endsWith("_or_null")) {
      return (
        `R${reg} may be NULL here: the result of bpf_map_lookup_elem (or another helper that can fail) ` +
        "must be checked against NULL before it is dereferenced"
      );
    }
    if (type === "scalar" || type === "inv") {
      return (
        `R${reg} holds a plain number, not a pointer the verifier can check: read kernel memory through ` +
        "bpf_probe_read_kernel()/BPF_CORE_READ() instead of dereferencing it directly"
      );
    }
    return `the program dereferences R${reg} (a '${type}') in a way the verifier does not allow for that kind of pointer`;
  }
  if (/invalid indirect read from stack/.test(message)) {
    return (
      "a helper was given a pointer to stack memory that is not fully initialized (often struct padding or an " +
      "unset field); zero the variable first (`= {}` or __builtin_memset) before passing it"
    );
  }
  if ((m = /back-edge from insn (\d+) to (\d+)/.exec(message))) {
    return (
      `the program jumps backwards from instruction ${m[1]} to ${m[2]} (a loop) and the verifier could not prove it ` +
      "ends; give the loop a small constant bound the compiler can unroll, or use bpf_loop()"
    );
  }
  if ((m = /unreachable insn (\d+)/.exec(message))) {
    return (
      `instruction ${m[1]} can never run (dead code after an exit or an unconditional jump); the verifier rejects ` +
      "unreachable code, which usually means hand-written or miscompiled BPF"
    );
  }
  if (/invalid read from stack/.test(message)) {
    return "the program reads a stack slot that was never written; initialize the variable before reading it";
  }
  if ((m = /R(\d+) !read_ok/.exec(message))) {
    return m[1] === "0"
      ? "the program exits without setting a return value (R0 was never written)"
      : `register R${m[1]} is read before anything was written to it`;
  }
  if (/invalid access to map value|value is outside of the allowed memory range|min value is negative|unbounded memory access/.test(message)) {
    return (
      "a map value or buffer is accessed outside its bounds, or at an offset the verifier cannot bound; " +
      "clamp the index or offset with an explicit check against the size first"
    );
  }
  if (/program of this type cannot use helper|unknown func/.test(message)) {
    return "the program calls a helper that this program type or this kernel does not provide";
  }
  if (/cannot call GPL-restricted function/.test(message)) {
    return 'the program calls a GPL-only helper but its license is not GPL-compatible (set char LICENSE[] SEC("license") = "GPL")';
  }
  if (/invalid bpf_context access/.test(message)) {
    return "the program reads its context (ctx) at an offset or size this program type does not allow";
  }
  if (/BPF program is too large|too many instructions|is too complex|complexity limit/.test(message)) {
    return "the verifier gave up: the program, counting every path through it, is too large or complex; simplify it or lower loop bounds";
  }
  if (/Possibly NULL pointer passed to helper/.test(message)) {
    return "a pointer that may be NULL is passed to a helper that needs a valid one; check it against NULL first";
  }
  if ((m = /R(\d+) type=(\S+) expected=(.+)/.exec(message))) {
    return `argument register R${m[1]} holds a ${m[2]} but the helper expects ${m[3]}`;
  }
  return undefined;
}
