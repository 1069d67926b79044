/**
 * Scope: the names a program can use (builtins, its attach point's arguments, retval,
 * params.NAME, and in the exit half of a pair ret, errno, latency and exit.NAME), each
 * resolved to a typed ValueSource.
 */
import type { SourceSpan } from "./diagnostics.js";
import type { AttachPoint, Builtin, IrParam, ValueSource } from "./ir.js";
import { defaultFieldType, type TracepointField } from "./kernel/tracefs.js";
import { didYouMean } from "./suggest.js";
import { i64, parseTypeName, typeName, u32, u64, type BoolType, type IntType, type ScalarOrString } from "./types.js";

export const builtins: Record<Builtin, { type: ScalarOrString; description: string }> = {
  pid: { type: u32, description: "process id (the thread group id)" },
  tid: { type: u32, description: "thread id" },
  uid: { type: u32, description: "user id" },
  gid: { type: u32, description: "group id" },
  comm: { type: { kind: "string", size: 16 }, description: "command name (the task's comm)" },
  ktime: { type: u64, description: "nanoseconds since boot (CLOCK_MONOTONIC)" },
  cpu: { type: u32, description: "CPU the event happened on" },
};

export const DEFAULT_STRING_SIZE = 256;
// libbpf 1.1 reads five argument registers (PT_REGS_PARM1..5).
const MAX_KPROBE_ARGS = 5;

export interface ResolvedValue {
  source: ValueSource;
  type: ScalarOrString;
  description?: string;
}

export type Report = (code: string, message: string, span: SourceSpan, hint?: string) => void;

export class Scope {
  /**
   * `attach` is where the program runs; for the exit half of a pair, `entry` is where its
   * entry values come from (bare names and args.NAME then mean entry values).
   */
  constructor(
    private readonly attach: AttachPoint,
    private readonly params: IrParam[],
    private readonly report: Report,
    private readonly entry?: AttachPoint,
  ) {}

  names(): string[] {
    const names: string[] = Object.keys(builtins);
    const args = this.entry ?? this.attach;
    names.push(...argNames(args));
    if (this.entry) {
      names.push("ret", "errno", "latency");
      if (this.attach.kind === "tracepoint") names.push(...this.attach.format.fields.map((f) => `exit.${f.name}`));
    } else if (this.attach.kind === "kretprobe") {
      names.push("retval");
    }
    names.push(...this.params.map((p) => `params.${p.name}`));
    return names;
  }

  lookup(path: string[], span: SourceSpan, override?: string): ResolvedValue | undefined {
    const name = path.join(".");
    if (path[0] === "params") {
      const param = path.length === 2 ? this.params.find((p) => p.name === path[1]) : undefined;
      if (param) return { source: { kind: "param", param }, type: param.type, description: param.description };
      this.report("unknown-name", `no parameter '${path.slice(1).join(".")}'.${didYouMean(path[1] ?? "", this.params.map((p) => p.name))}`, span,
        this.params.length ? `declared: ${this.params.map((p) => p.name).join(", ")}` : "declare it under params: at the top of the spec");
      return undefined;
    }
    if (path.length === 1 && path[0]! in builtins) {
      const b = builtins[path[0] as Builtin];
      const type = this.overrideInt(name, b.type, override, span);
      return type ? { source: { kind: "builtin", name: path[0] as Builtin }, type, description: b.description } : undefined;
    }
    if (this.entry) {
      const exitValue = this.exitValue(path, span, override);
      if (exitValue !== null) return exitValue;
      const entryValue = this.argument(this.entry, path, span, override);
      if (entryValue === null) return this.unknown(name, span);
      return entryValue && { ...entryValue, source: { kind: "stashed", inner: entryValue.source, member: "" } };
    }
    const value = this.argument(this.attach, path, span, override);
    return value === null ? this.unknown(name, span) : value;
  }

  /** Names only the exit half of a pair has; null when `path` is none of them. */
  private exitValue(path: string[], span: SourceSpan, override?: string): ResolvedValue | undefined | null {
    const name = path.join(".");
    const ret = this.returnValue();
    if (name === "latency") return { source: { kind: "latency" }, type: u64, description: "nanoseconds from entry to exit" };
    if (name === "ret" || name === "retval") {
      if (!ret) return this.unknown(name, span);
      const type = this.overrideInt(name, ret.type, override, span);
      return type && { source: ret.source, type, description: "return value" };
    }
    if (name === "errno") {
      if (!ret) return this.unknown(name, span);
      return { source: { kind: "errno", ret: ret.source }, type: u32, description: "errno of a failed call (0 on success)" };
    }
    if (path[0] === "exit" && path.length === 2) {
      const value = this.argument(this.attach, [path[1]!], span, override);
      return value === null ? this.unknown(name, span) : value;
    }
    return null;
  }

  private returnValue(): ResolvedValue | undefined {
    if (this.attach.kind === "kretprobe") return { source: { kind: "retval" }, type: i64 };
    if (this.attach.kind === "tracepoint") {
      const field = this.attach.format.fields.find((f) => f.name === "ret");
      if (field) return { source: { kind: "tracepoint-field", field }, type: defaultFieldType(field, DEFAULT_STRING_SIZE) };
    }
    return undefined;
  }

  /** An argument of `attach`; null when it has none of that name. */
  private argument(attach: AttachPoint, path: string[], span: SourceSpan, override?: string): ResolvedValue | undefined | null {
    const last = path.at(-1)!;
    const explicitArg = path.length === 2 && path[0] === "args";
    if (attach.kind === "tracepoint" && (path.length === 1 || explicitArg)) {
      const field = attach.format.fields.find((f) => f.name === last);
      return field ? this.tracepointValue(field, span, override) : null;
    }
    if (attach.kind === "kprobe" && path.length === 1 && new RegExp(`^arg[0-${MAX_KPROBE_ARGS - 1}]$`).test(last)) {
      return this.registerValue({ kind: "kprobe-arg", index: Number(last.slice(3)), read: "int" }, span, override, u64);
    }
    if (attach.kind === "kretprobe" && !this.entry && path.join(".") === "retval") {
      return this.registerValue({ kind: "retval" }, span, override, i64);
    }
    return null;
  }

  private unknown(name: string, span: SourceSpan): undefined {
    const a = this.entry ?? this.attach;
    const where = this.entry ? "this entry/exit pair" : a.kind === "tracepoint" ? `tracepoint ${a.category}/${a.name}` : `a ${a.kind}`;
    this.report("unknown-name", `'${name}' is not a value of ${where}.${didYouMean(name.split(".").at(-1)!, this.names().map((n) => n.split(".").at(-1)!))}`, span, this.hint(name));
    return undefined;
  }

  private hint(name: string): string {
    if (this.attach.kind === "kretprobe" && !this.entry && /^arg[0-9]$/.test(name)) {
      return "a kretprobe sees only the return value: pair it with its kprobe (attach: kprobe/FUNC, exit: true) to use arguments";
    }
    if (this.attach.kind === "kprobe" && name === "retval") return "the return value is seen at exit: add 'exit: true' to pair this kprobe with its kretprobe";
    if (/^arg[5-9]$/.test(name)) return `libbpf reads ${MAX_KPROBE_ARGS} argument registers: arg0 to arg${MAX_KPROBE_ARGS - 1}`;
    if (!this.entry && (name === "latency" || name === "ret" || name === "errno")) return "ret, errno and latency exist in an entry/exit pair: add 'exit: true'";
    return `available: ${this.names().join(", ")}`;
  }

  private overrideInt(name: string, type: ScalarOrString, override: string | undefined, span: SourceSpan): ScalarOrString | undefined {
    if (!override || override === typeName(type)) return type;
    const parsed = parseTypeName(override);
    if (type.kind === "int" && parsed && parsed.kind !== "string") return parsed;
    this.report("invalid-type", `'${name}' is ${typeName(type)} and cannot be read as ${override}`, span, "remove 'type'");
    return undefined;
  }

  private tracepointValue(field: TracepointField, span: SourceSpan, override?: string): ResolvedValue | undefined {
    const inferred = defaultFieldType(field, DEFAULT_STRING_SIZE);
    const description = `${field.cType} ${field.name} (tracepoint argument)`;
    if (!override) return { source: { kind: "tracepoint-field", field }, type: inferred, description };
    const access = field.access;
    if (override === "user_string" || override === "kernel_string") {
      if (access.kind !== "user_string" && access.kind !== "kernel_string" && access.kind !== "pointer") {
        this.report("invalid-type", `'${field.name}' is '${field.cType}', not a pointer, so it cannot be read as a string`, span, "remove 'type'");
        return undefined;
      }
      const readAs = { ...field, access: { kind: override } } as TracepointField;
      return { source: { kind: "tracepoint-field", field: readAs }, type: { kind: "string", size: DEFAULT_STRING_SIZE }, description };
    }
    const scalar = parseTypeName(override) as IntType | BoolType;
    if (access.kind === "data_loc_string" || access.kind === "char_array") {
      this.report("invalid-type", `'${field.name}' is a string ('${field.cType}') and cannot be read as ${override}`, span, "remove 'type'");
      return undefined;
    }
    // A pointer read as an integer is its address.
    const readAs = access.kind === "int" ? field : ({ ...field, access: { kind: "int", type: u64 } } as TracepointField);
    return { source: { kind: "tracepoint-field", field: readAs }, type: scalar, description };
  }

  private registerValue(source: ValueSource, span: SourceSpan, override: string | undefined, fallback: IntType): ResolvedValue | undefined {
    if (override === "user_string" || override === "kernel_string") {
      if (source.kind !== "kprobe-arg") {
        this.report("invalid-type", "a return value cannot be read as a string here", span, "capture it as an integer (i64)");
        return undefined;
      }
      return { source: { ...source, read: override }, type: { kind: "string", size: DEFAULT_STRING_SIZE } };
    }
    const type = override ? (parseTypeName(override) as IntType | BoolType) : fallback;
    return { source, type, description: source.kind === "retval" ? "return value" : `argument ${(source as { index: number }).index}` };
  }
}

function argNames(a: AttachPoint): string[] {
  if (a.kind === "tracepoint") return a.format.fields.map((f) => f.name);
  if (a.kind === "kprobe") return Array.from({ length: MAX_KPROBE_ARGS }, (_, i) => `arg${i}`);
  return [];
}
