/**
 * Scope: the names a program can use (builtins, its attach point's arguments, retval,
 * params.NAME, and in the exit half of a pair ret, errno, latency and exit.NAME), each
 * resolved to a typed ValueSource.
 */
import { resolvePath, type Btf, type PathStep } from "../kernel/btf/index.js";
import { captureOf } from "./btf-values.js";
import type { SourceSpan } from "./diagnostics.js";
import { attachKind, type ReturnValue } from "./attach/index.js";
import type { ArgContext, AttachPoint, Builtin, IrParam, PathRoot, ValueSource } from "./ir.js";
import { defaultFieldType, type TracepointField } from "../kernel/tracefs.js";
import { didYouMean } from "./suggest.js";
import { isPacketName, packetNames, packetValue } from "./packet.js";
import { i64, parseTypeName, sizeOf, stackType, typeName, u32, u64, type IntType, type ScalarOrString } from "./types.js";

export const builtins: Record<Builtin, { type: ScalarOrString; description: string }> = {
  pid: { type: u32, description: "process id (the thread group id)" },
  tid: { type: u32, description: "thread id" },
  uid: { type: u32, description: "user id" },
  gid: { type: u32, description: "group id" },
  comm: { type: { kind: "string", size: 16 }, description: "command name (the task's comm)" },
  ktime: { type: u64, description: "nanoseconds since boot (CLOCK_MONOTONIC)" },
  boot_ns: { type: u64, description: "nanoseconds since boot, suspend included (CLOCK_BOOTTIME)" },
  cpu: { type: u32, description: "CPU the event happened on" },
  kstack: { type: stackType("kernel"), description: "kernel call stack (bpf_get_stack), innermost frame first" },
  ustack: { type: stackType("user"), description: "user call stack of the current thread (bpf_get_stack), innermost frame first" },
};

export const DEFAULT_STRING_SIZE = 256;

export interface ResolvedValue {
  source: ValueSource;
  type: ScalarOrString;
  description?: string;
  /**
   * Set when the value is a pointer's address (its C type): filters may compare it, but it is
   * copied into an event or a map only when the spec asks for it with `type: u64`.
   */
  address?: string;
}

/** A program's attach point among those `probe` can name: its index, and every match's index by name. */
export interface ProbeOf {
  index: number;
  matches: ReadonlyMap<string, number>;
}

export type Report = (code: string, message: string, span: SourceSpan, hint?: string) => void;

/** The kernel's types, loaded on first use, and those a probe uses (for the emitter's header). */
export interface BtfUse {
  load(): Btf | undefined;
  paths: Array<{ root: number; steps: PathStep[] }>;
  declare: number[];
}

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
    private readonly types: BtfUse = { load: () => undefined, paths: [], declare: [] },
    /** What `probe` reads: this program's attach point among its pattern's matches. */
    private readonly probe?: ProbeOf,
  ) {}

  /** The index `probe` has where it reads as `name`: undefined when this program's pattern has no such match. */
  probeIndex(name: string): number | undefined {
    return this.probe?.matches.get(name);
  }

  probeMatches(): string[] {
    return [...(this.probe?.matches.keys() ?? [])];
  }

  names(): string[] {
    const names: string[] = Object.keys(builtins);
    if (this.probe) names.push("probe");
    const args = this.entry ?? this.attach;
    names.push(...argNames(args));
    names.push("ppid", "task");
    if (this.entry) {
      names.push("ret", "errno", "latency");
      const exitArgs = attachKind(this.attach).arguments(this.attach);
      if (exitArgs.kind === "record") names.push(...exitArgs.format.fields.map((f) => `exit.${f.name}`));
    } else if (retvalOf(this.attach)) {
      names.push("retval");
    }
    names.push(...this.params.map((p) => `params.${p.name}`));
    const access = attachKind(this.attach).packet?.(this.attach);
    if (access) names.push(...packetNames(access));
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
    if (path[0] === "task" || name === "ppid") {
      const members = name === "ppid" ? ["real_parent", "tgid"] : path.slice(1);
      const value = this.corePath({ kind: "task" }, "task_struct", members, span, override);
      return value && (name === "ppid" ? { ...value, description: "parent process id (task->real_parent->tgid, read with CO-RE)" } : value);
    }
    if (name === "probe" && this.probe) {
      if (override !== undefined) {
        this.report("invalid-type", "'probe' is the attach point's name and has no other type", span, "remove 'type:'");
        return undefined;
      }
      const only = this.probe.matches.size === 1 ? { only: true } : {};
      return { source: { kind: "probe", index: this.probe.index, ...only }, type: u32, description: "the attach point that fired" };
    }
    if (isPacketName(path)) {
      const packet = this.packet(path, span, override);
      if (packet !== null) return packet;
    }
    if (path.length === 1 && Object.hasOwn(builtins, path[0]!)) {
      const b = builtins[path[0] as Builtin];
      if (b.type.kind === "array" && b.type.stack) return this.stack(path[0]!, b, span, override);
      const type = this.overrideType(name, b.type, override, span);
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

  /**
   * `kstack` or `ustack`: only tracing programs walk stacks (bpf_get_stack is not a helper of
   * network programs), and a stack is read as a stack only.
   */
  private stack(name: string, b: { type: ScalarOrString; description: string }, span: SourceSpan, override?: string): ResolvedValue | undefined {
    const kind = attachKind(this.attach);
    if (kind.verdicts) {
      this.report("no-stack", `'${name}' is a call stack, and ${kind.owner(this.attach)} cannot walk stacks (bpf_get_stack is for tracing programs)`, span,
        "capture stacks in tracing programs: profile/HZ, kprobe, tracepoint...");
      return undefined;
    }
    if (override !== undefined && override !== name) {
      this.report("invalid-type", `'${name}' is a call stack and cannot be read as ${override}`, span, "remove 'type'");
      return undefined;
    }
    return { source: { kind: "builtin", name: name as Builtin }, type: b.type, description: b.description };
  }

  /**
   * A packet field (`tcp.dport`), or whether the packet has a header (`tcp`), for kinds that say
   * how to read their packet; null for other kinds when the name is one of their own arguments.
   */
  private packet(path: string[], span: SourceSpan, override?: string): ResolvedValue | undefined | null {
    const name = path.join(".");
    const kind = attachKind(this.attach);
    const access = kind.packet?.(this.attach);
    if (!access) {
      const own = [this.attach, ...(this.entry ? [this.entry] : [])].some((a) => argNames(a).includes(name));
      if (own) return null;
      this.report("not-a-packet", `'${name}' is a packet field, and ${kind.owner(this.attach)} sees no packet`, span,
        "packet fields are read by network programs: attach: xdp (and tc, socket, cgroup_skb)");
      return undefined;
    }
    const value = packetValue(path, access);
    if ("problem" in value) {
      this.report("not-a-packet", value.problem, span, value.hint);
      return undefined;
    }
    const type = this.overrideType(name, value.type, override, span);
    return type && { source: value.source, type, description: value.description };
  }

  /** Names only the exit half of a pair has; null when `path` is none of them. */
  private exitValue(path: string[], span: SourceSpan, override?: string): ResolvedValue | undefined | null {
    const name = path.join(".");
    const ret = this.returnValue();
    if (name === "latency") return { source: { kind: "latency" }, type: u64, description: "nanoseconds from entry to exit" };
    if (name === "ret" || name === "retval") {
      if (!ret) return this.unknown(name, span);
      if ((override === "user_string" || override === "kernel_string") && ret.source.kind === "retval") return this.registerValue(ret.source, span, override, i64);
      const type = this.overrideType(name, ret.type, override, span);
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

  /** `ret` in the exit half of a pair. */
  private returnValue(): ResolvedValue | undefined {
    const ret = attachKind(this.attach).returnValue(this.attach);
    switch (ret?.kind) {
      case "register": return { source: { kind: "retval" }, type: i64 };
      case "array": return this.fexitReturn(ret.index, ret.type);
      case "field": {
        const type = defaultFieldType(ret.field, DEFAULT_STRING_SIZE);
        return type && { source: { kind: "tracepoint-field", field: ret.field }, type };
      }
      case undefined: return undefined;
    }
  }

  /** An argument of `attach`; null when it has none of that name. */
  private argument(attach: AttachPoint, path: string[], span: SourceSpan, override?: string): ResolvedValue | undefined | null {
    const last = path.at(-1)!;
    const args = attachKind(attach).arguments(attach);
    if (args.kind === "record") {
      if (path.length !== 1 && !(path.length === 2 && path[0] === "args")) return null;
      const field = args.format.fields.find((f) => f.name === last);
      return field ? this.tracepointValue(field, span, override) : null;
    }
    if (args.kind === "context") {
      const field = args.fields.find((f) => f.name === path.join("."));
      if (!field) return null;
      const type = this.overrideType(field.name, field.type, override, span);
      return type && { source: { kind: "context", field }, type, description: field.description };
    }
    if (args.kind === "args") {
      const { ctx, limit, proto, types } = args;
      if (path.length === 1 && /^arg(0|[1-9][0-9]?)$/.test(last)) {
        const index = Number(last.slice(3));
        if (index >= limit) return null;
        if (proto?.params[index] && override === undefined) return this.btfArg(index, ctx, proto.params[index]!.type, [], span);
        return this.registerValue({ kind: "kprobe-arg", index, read: "int", ctx }, span, override, types?.[index] ?? u64);
      }
      if (proto) {
        const [first, ...rest] = path[0] === "args" && path.length > 1 ? path.slice(1) : path;
        const index = proto.params.findIndex((p) => p.name === first);
        if (index >= 0 && index < limit) return this.btfArg(index, ctx, proto.params[index]!.type, rest, span, override);
      }
    }
    if (!this.entry && path.join(".") === "retval") {
      const ret = retvalOf(attach);
      if (ret?.kind === "register") return this.registerValue({ kind: "retval" }, span, override, i64);
      if (ret?.kind === "array") return this.fexitReturn(ret.index, ret.type, override, span);
    }
    return null;
  }

  private fexitReturn(index: number, typeId: number, override?: string, span?: SourceSpan): ResolvedValue | undefined {
    const btf = this.types.load()!;
    const captured = captureOf(btf, typeId, DEFAULT_STRING_SIZE);
    if (!captured.ok || captured.type.kind === "string") return { source: { kind: "retval", arrayIndex: index }, type: i64, description: "return value" };
    const type = override && span ? this.overrideType("retval", captured.type, override, span) : captured.type;
    const address = captured.read === "pointer" && !override ? { address: btf.describe(typeId) } : {};
    return type && { source: { kind: "retval", arrayIndex: index }, type, description: `return value (${btf.describe(typeId)})`, ...address };
  }

  /** A function argument typed from BTF, or a member path starting at one. */
  private btfArg(index: number, ctx: ArgContext, typeId: number, members: string[], span: SourceSpan, override?: string): ResolvedValue | undefined {
    const btf = this.types.load()!;
    const cType = btf.describe(typeId);
    const byValue = this.structsByValue(index);
    if (byValue) {
      this.report("invalid-type", `argument ${index} comes after ${byValue}, a struct passed by value, which moves the arguments after it`, span,
        "probegen cannot read arguments past a struct passed by value yet");
      return undefined;
    }
    if (members.length > 0) {
      const kind = btf.type(btf.resolve(typeId)).kind;
      if (kind === "struct" || kind === "union") {
        this.report("invalid-type", `argument ${index} is ${cType}, a ${kind} passed by value: probegen reads members through pointers only`, span,
          "probe a function that takes a pointer to it");
        return undefined;
      }
      return this.corePath({ kind: "arg", index, ctx, cType }, typeId, members, span, override);
    }
    const captured = captureOf(btf, typeId, DEFAULT_STRING_SIZE);
    if (!captured.ok) {
      this.report("invalid-type", `argument ${index} is ${captured.why}`, span, "capture one of its members: args.NAME.MEMBER");
      return undefined;
    }
    const description = `${cType} (argument ${index})`;
    if (captured.read === "kernel_string" || captured.read === "user_string") {
      const read = override === "user_string" || override === "kernel_string" ? override : captured.read;
      if (override && override !== read) return this.registerValue({ kind: "kprobe-arg", index, read: "int", ctx }, span, override, u64);
      return { source: { kind: "kprobe-arg", index, read, ctx }, type: captured.type, description };
    }
    if (override) return this.registerValue({ kind: "kprobe-arg", index, read: "int", ctx }, span, override, u64);
    const named = captured.enum ? { enum: captured.enum } : {};
    return { source: { kind: "kprobe-arg", index, read: "int", ctx, ...named }, type: captured.type, description, ...(captured.read === "pointer" ? { address: cType } : {}) };
  }

  /** The first struct passed by value before argument `index`, if any (it shifts the registers or slots after it). */
  private structsByValue(index: number): string | undefined {
    const attach = this.entry ?? this.attach;
    const args = attachKind(attach).arguments(attach);
    if (args.kind !== "args" || !args.proto) return undefined;
    const btf = this.types.load()!;
    const param = args.proto.params.slice(0, index).find((p) => ["struct", "union"].includes(btf.type(btf.resolve(p.type)).kind));
    return param && `${btf.describe(param.type)} ${param.name}`.trim();
  }

  /** `task.real_parent.tgid`, `args.how.flags`: members read with CO-RE, checked against BTF. */
  private corePath(root: PathRoot, rootType: string | number, members: string[], span: SourceSpan, override?: string): ResolvedValue | undefined {
    const btf = this.types.load();
    const written = [root.kind === "task" ? "task" : `argument ${root.index}`, ...members].join(".");
    if (!btf) {
      this.report("no-btf", `'${written}' reads kernel structs, and there is no kernel BTF to type it`, span,
        "build on a kernel with /sys/kernel/btf/vmlinux, or give one with --btf FILE");
      return undefined;
    }
    const rootId = typeof rootType === "number" ? rootType : btf.findByName(rootType, "struct");
    if (rootId === undefined) {
      this.report("no-btf", `the kernel's BTF has no struct ${rootType}`, span);
      return undefined;
    }
    if (members.length === 0) {
      this.report("invalid-path", `'${written}' is a struct: name a member`, span, "e.g. task.tgid or task.real_parent.tgid");
      return undefined;
    }
    const r = resolvePath(btf, rootId, members, { capture: true });
    if (!r.ok) {
      const e = r.error;
      const near = e.suggestions?.length ? ` Did you mean ${e.suggestions.map((x) => `'${x}'`).join(" or ")}?` : "";
      const hint = e.hint ?? (e.members ? `members: ${e.members.slice(0, 24).join(", ")}${e.members.length > 24 ? ", ..." : ""}` : undefined);
      this.report("invalid-path", `${e.message}.${near}`.replace(/\.\./g, "."), span, hint);
      return undefined;
    }
    const capture = r.capture!;
    if (capture.kind === "int" && capture.bitfieldSize) {
      this.report("invalid-path", `'${members.at(-1)}' is a bitfield, which probegen cannot read yet`, span, "capture a neighbouring member");
      return undefined;
    }
    this.types.paths.push({ root: typeof rootType === "number" ? btf.resolve(rootType) : rootId, steps: r.steps });
    if (root.kind === "arg") this.types.declare.push(rootType as number);
    const last = r.steps.at(-1)!;
    const captured = captureOf(btf, last.type, DEFAULT_STRING_SIZE);
    if (!captured.ok) {
      this.report("invalid-path", `'${members.at(-1)}' is ${captured.why}`, span, "follow it further to a number or a string");
      return undefined;
    }
    let read = captured.read;
    let type = captured.type;
    if (override) {
      if ((override === "user_string" || override === "kernel_string") && (read === "kernel_string" || read === "user_string")) read = override;
      else if (override === "user_string" || override === "kernel_string") {
        this.report("invalid-type", `'${members.at(-1)}' is ${btf.describe(last.type)}, not a char pointer`, span, "remove 'type'");
        return undefined;
      } else {
        if (type.kind === "string") {
          this.report("invalid-type", `'${members.at(-1)}' is ${btf.describe(last.type)}, text, and cannot be read as ${override}`, span, "remove 'type'");
          return undefined;
        }
        const t = this.overrideType(written, type, override, span);
        if (!t) return undefined;
        type = t;
      }
    }
    return {
      source: { kind: "path", root, rootType: typeof rootType === "number" ? btf.resolve(rootType) : rootId, steps: r.steps, capture, read, ...(captured.enum && type.kind === "int" ? { enum: captured.enum } : {}) },
      type,
      description: `${read === "pointer" ? "the address in " : ""}${btf.describe(last.type)} ${written} (read with CO-RE)`,
      ...(read === "pointer" && !override ? { address: btf.describe(last.type) } : {}),
    };
  }

  private unknown(name: string, span: SourceSpan): undefined {
    const where = this.entry ? "this entry/exit pair" : attachKind(this.attach).owner(this.attach);
    // A packet header's misspelt field is suggested whole (tcp.dprot: 'tcp.dport'); other names by their last part.
    const header = `${name.split(".")[0]}.`;
    const packet = this.names().filter((n) => name.includes(".") && n.startsWith(header) && isPacketName(n.split(".")));
    const near = packet.length ? didYouMean(name, packet) : didYouMean(name.split(".").at(-1)!, [...new Set(this.names().map((n) => n.split(".").at(-1)!))]);
    this.report("unknown-name", `'${name}' is not a value of ${where}.${near}`, span, this.hint(name));
    return undefined;
  }

  private hint(name: string): string {
    const own = attachKind(this.attach).unknownNameHint?.(this.attach, name, !!this.entry)
      ?? (this.entry && attachKind(this.entry).unknownNameHint?.(this.entry, name, true));
    if (own) return own;
    if (!this.entry && (name === "latency" || name === "ret" || name === "errno")) return "ret, errno and latency exist in an entry/exit pair: add 'exit: true'";
    return `available: ${this.names().join(", ")}`;
  }

  /** `type:` on a value: an integer read as another integer, an array as another array of at most its bytes. */
  private overrideType(name: string, type: ScalarOrString, override: string | undefined, span: SourceSpan): ScalarOrString | undefined {
    if (!override || override === typeName(type)) return type;
    const parsed = parseTypeName(override);
    if (type.kind === "int" && (parsed?.kind === "int" || parsed?.kind === "bool")) return parsed;
    if (type.kind === "array" && parsed?.kind === "array" && sizeOf(parsed) <= sizeOf(type)) return parsed;
    const hint = type.kind === "array"
      ? `an array can be read as another array of at most ${sizeOf(type)} bytes (e.g. u8[${sizeOf(type)}]), or remove 'type'`
      : "remove 'type'";
    this.report("invalid-type", `'${name}' is ${typeName(type)} and cannot be read as ${override}`, span, hint);
    return undefined;
  }

  private tracepointValue(field: TracepointField, span: SourceSpan, override?: string): ResolvedValue | undefined {
    const inferred = defaultFieldType(field, DEFAULT_STRING_SIZE);
    const description = `${field.cType} ${field.name} (tracepoint argument)`;
    const access = field.access;
    if (!inferred) {
      this.report("invalid-type", `'${field.name}' is '${field.cType}', an array of no fixed length, which probegen cannot capture`, span, "capture another field");
      return undefined;
    }
    if (!override) return { source: { kind: "tracepoint-field", field }, type: inferred, description, ...(access.kind === "pointer" ? { address: field.cType } : {}) };
    const pointer = access.kind === "user_string" || access.kind === "kernel_string" || access.kind === "pointer" || access.kind === "user_string_list";
    if (access.kind === "user_string_list" && (override === "user_string" || override === "kernel_string")) {
      this.report("invalid-type", `'${field.name}' is '${field.cType}', a list of strings, and is captured as one without 'type'`, span,
        "remove 'type' (count: and size: bound the list), or use type: u64 for its address");
      return undefined;
    }
    if (override === "user_string" || override === "kernel_string") {
      if (!pointer) {
        this.report("invalid-type", `'${field.name}' is '${field.cType}', not a pointer, so it cannot be read as a string`, span, "remove 'type'");
        return undefined;
      }
      const readAs = { ...field, access: { kind: override } } as TracepointField;
      return { source: { kind: "tracepoint-field", field: readAs }, type: { kind: "string", size: DEFAULT_STRING_SIZE }, description };
    }
    if (access.kind === "data_loc_string" || access.kind === "char_array") {
      this.report("invalid-type", `'${field.name}' is a string ('${field.cType}') and cannot be read as ${override}`, span, "remove 'type'");
      return undefined;
    }
    // A pointer read as an integer is its address, asked for.
    const type = this.overrideType(field.name, pointer ? u64 : inferred, override, span);
    if (!type) return undefined;
    const readAs: TracepointField = pointer ? { ...field, access: { kind: "pointer" } } : type.kind === "array" ? { ...field, access: { kind: "array", type } } : field;
    return { source: { kind: "tracepoint-field", field: readAs }, type, description: pointer ? `the address in ${description}` : description };
  }

  private registerValue(source: ValueSource, span: SourceSpan, override: string | undefined, fallback: IntType): ResolvedValue | undefined {
    if (override === "user_string" || override === "kernel_string") {
      // A register holding a pointer: an argument, or a return value in PT_REGS_RC.
      if (source.kind === "kprobe-arg" || (source.kind === "retval" && source.arrayIndex === undefined)) {
        return { source: { ...source, read: override }, type: { kind: "string", size: DEFAULT_STRING_SIZE } };
      }
      this.report("invalid-type", "a return value cannot be read as a string here", span, "capture it as an integer (i64)");
      return undefined;
    }
    const parsed = override ? parseTypeName(override) : fallback;
    if (parsed?.kind !== "int" && parsed?.kind !== "bool") {
      this.report("invalid-type", `${source.kind === "retval" ? "a return value" : "an argument"} is one 64-bit register, and cannot be read as ${override}`, span,
        "read it as an integer (u64, i32...), or name an array member behind a pointer: args.NAME.MEMBER");
      return undefined;
    }
    const type = parsed;
    return { source, type, description: source.kind === "retval" ? "return value" : `argument ${(source as { index: number }).index}` };
  }
}

function argNames(a: AttachPoint): string[] {
  const args = attachKind(a).arguments(a);
  if (args.kind === "record") return args.format.fields.map((f) => f.name);
  if (args.kind === "none") return [];
  if (args.kind === "context") return args.fields.map((f) => f.name);
  const named = args.proto?.params.map((p) => p.name).filter(Boolean) ?? [];
  return [...named, ...Array.from({ length: args.limit }, (_, i) => `arg${i}`)];
}

/** The return value a program reads as `retval` on its own (a tracepoint's is one of its fields). */
function retvalOf(a: AttachPoint): ReturnValue | undefined {
  const ret = attachKind(a).returnValue(a);
  return ret?.kind === "field" ? undefined : ret;
}
