/**
 * `probegen list tracepoints|kprobes|fentry [PATTERN]`: what the running kernel offers;
 * `probegen list tracepoint|kprobe|kretprobe|fentry NAME`: one attach point's arguments, like
 * `bpftrace -lv`: the C type and the probegen type each is captured as.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { closest, globMatcher, isGlob, matchAttach, typeName } from "../compiler/index.js";
import { defaultFieldType, KernelSymbols, Tracefs, type TracepointField } from "../kernel/index.js";
import { CliError, usageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatTable } from "./table.js";
import { networkInterfaces } from "../runtime/interfaces.js";

type Kind = "tracepoint" | "kprobe" | "fentry";

const kinds: Record<string, { kind: Kind; one: boolean }> = {
  tracepoints: { kind: "tracepoint", one: false }, tracepoint: { kind: "tracepoint", one: true },
  kprobes: { kind: "kprobe", one: false }, kprobe: { kind: "kprobe", one: true }, kretprobe: { kind: "kprobe", one: true },
  fentry: { kind: "fentry", one: false }, fexit: { kind: "fentry", one: false },
};

/** The values every program can capture besides the attach point's own. */
export const builtinValues: Array<[string, string, string]> = [
  ["pid", "u32", "process id"], ["tid", "u32", "thread id"], ["uid", "u32", "user id"], ["gid", "u32", "group id"],
  ["comm", "string[16]", "command name"], ["ktime", "u64", "ns since boot"], ["cpu", "u32", "CPU"],
];

export async function listCommand(what: string, pattern: string | undefined, flags: { json: boolean }): Promise<number> {
  if (what === "interfaces" || what === "xdp") return listInterfaces(pattern, flags.json);
  // "probegen list 'tracepoint/syscalls/sys_enter_*'": what a spec's attach pattern matches.
  if (pattern === undefined && /^[a-z_]+[/:]/.test(what) && (isGlob(what) || what.includes("{"))) return listMatches(what, flags.json);
  let k = kinds[what];
  // "probegen list tracepoint/syscalls/sys_enter_openat": the kind inside the name.
  if (!k && /^(tracepoint|kprobe|kretprobe|fentry|fexit)[/:]/.test(what) && pattern === undefined) {
    const [head, ...rest] = what.split(/[/:]/);
    return listCommand(head!, rest.join("/"), flags);
  }
  if (!k) throw usageError(`cannot list '${what}'`, "say tracepoints, kprobes, fentry or interfaces (or tracepoint NAME for one attach point's arguments)");
  const named = pattern?.replace(/^(tracepoint|kprobe|kretprobe|fentry|fexit)[/:]/, "");
  if (k.kind === "fentry" && named && !isGlob(named) && what.startsWith("f")) k = { kind: "fentry", one: true };
  if (k.one) {
    if (!named || isGlob(named)) throw usageError(`'list ${what}' takes one exact name; to search, use 'probegen list ${k.kind}s PATTERN'`);
    return describe(what === "kretprobe" ? "kretprobe" : k.kind, named, flags.json);
  }
  const names = await attachPoints(k.kind);
  const matcher = named ? globMatcher(k.kind === "tracepoint" ? named.replace(/:/g, "/") : named) : () => true;
  const prefix = k.kind === "fentry" ? (what === "fexit" ? "fexit" : "fentry") : k.kind;
  const hits = names.filter((n) => matcher(n) || (k!.kind === "tracepoint" && named !== undefined && !named.includes("/") && !named.includes(":") && matcher(n.split("/")[1]!)))
    .sort()
    .map((n) => `${prefix}/${n}`);
  if (flags.json) process.stdout.write(JSON.stringify(hits) + "\n");
  else if (hits.length) process.stdout.write(hits.join("\n") + "\n");
  if (hits.length === 0) {
    process.stderr.write(`probegen list: nothing matches '${pattern}'\n`);
    return ExitCode.SpecError;
  }
  return ExitCode.Ok;
}

/** The attach points an attach pattern matches, one a line: what `attach: PATTERN` builds programs for. */
function listMatches(pattern: string, json: boolean): number {
  // bpftrace writes tracepoint:syscalls:sys_enter_*
  const result = matchAttach(pattern.replace(/^([a-z_]+):/, "$1/").replace(/^(tracepoint\/[^/:]+):/, "$1/"));
  if ("problem" in result) throw new CliError(result.problem.message, ExitCode.SpecError, result.problem.hint);
  process.stdout.write(json ? JSON.stringify(result.matches) + "\n" : result.matches.join("\n") + "\n");
  return ExitCode.Ok;
}

function tracefs(): Tracefs {
  const t = Tracefs.find();
  if (!t) {
    const { reason, hint } = Tracefs.problem();
    throw new CliError(`${reason}, so the kernel's tracepoints cannot be listed`, ExitCode.Kernel, hint);
  }
  return t;
}

async function attachPoints(kind: Kind): Promise<string[]> {
  switch (kind) {
    case "tracepoint":
      return tracefs().allNames();
    case "kprobe": {
      // available_filter_functions lists what kprobes (and ftrace) may attach to; it needs root,
      // and lockdown can hide it: fall back to kallsyms' text symbols.
      const t = Tracefs.find();
      if (t) {
        try {
          const text = readFileSync(join(t.root, "available_filter_functions"), "utf8");
          return [...new Set(text.split("\n").map((l) => l.split(/\s/)[0]!).filter(Boolean))];
        } catch {
          // fall through
        }
      }
      const symbols = KernelSymbols.read();
      if (!symbols) throw new CliError("cannot read the kernel's functions (/proc/kallsyms shows no addresses without root)", ExitCode.Kernel, "run as root");
      return [...new Set(symbols.names())];
    }
    case "fentry":
      return (await (await import("./kernel-btf.js")).KernelBtf.read()).functionNames();
  }
}

async function describe(kind: "tracepoint" | "kprobe" | "kretprobe" | "fentry", name: string, json: boolean): Promise<number> {
  if (kind === "tracepoint") {
    const [category, event] = name.replace(/:/g, "/").split("/");
    const t = tracefs();
    const format = category && event ? t.format(category, event) : undefined;
    if (!format) {
      const near = closest(name.replace(/:/g, "/"), t.allNames(), 3);
      throw new CliError(`the kernel has no tracepoint '${name}'${near.length ? `. Did you mean ${near.map((n) => `'${n}'`).join(", ")}?` : ""}`, ExitCode.SpecError,
        "list them with: probegen list tracepoints 'CATEGORY/*'");
    }
    const args = format.fields.map((f) => {
      const type = defaultFieldType(f, 256);
      return { name: f.name, cType: f.cType, type: type ? typeName(type) : "(not capturable)", note: note(f) };
    });
    if (json) {
      process.stdout.write(JSON.stringify({ attach: `tracepoint/${category}/${event}`, args, builtins: builtinValues.map(([n, t]) => ({ name: n, type: t })) }, null, 2) + "\n");
      return ExitCode.Ok;
    }
    process.stdout.write(`tracepoint/${category}/${event}\n`);
    process.stdout.write(formatTable(["C type", "name", "captured as", ""], args.map((a) => [a.cType, a.name, a.type, a.note]), { indent: "    " }) + "\n");
    process.stdout.write(`  and every program's: ${builtinValues.map(([n, t]) => `${n} (${t})`).join(", ")}\n`);
    return ExitCode.Ok;
  }
  // kprobe, kretprobe, fentry: the prototype from BTF, when the kernel has it.
  const exists = kind === "fentry" ? true : KernelSymbols.read()?.has(name) ?? true;
  const btf = await (await import("./kernel-btf.js")).KernelBtf.read().catch(() => undefined);
  const proto = btf?.proto(name);
  if (!proto && (!exists || kind === "fentry")) {
    const near = btf ? closest(name, btf.functionNames(), 3) : [];
    throw new CliError(`the kernel has no function '${name}'${near.length ? `. Did you mean ${near.map((n) => `'${n}'`).join(", ")}?` : ""}`, ExitCode.SpecError);
  }
  const values = !proto ? [] : kind === "kretprobe"
    ? [{ name: "retval", cType: proto.returnType, type: "i64", note: "" }]
    : proto.params.map((p, i) => ({
      name: kind === "fentry" ? p.name : `arg${i}`,
      cType: kind === "fentry" ? p.cType : `${p.cType} ${p.name}`,
      type: kind === "kprobe" && i > 4 ? "(not readable: libbpf reads 5 registers)" : "u64",
      note: p.charPointer ? "a string: type: user_string or kernel_string" : p.size && p.size < 8 ? `or type: ${p.signed ? "i" : "u"}${p.size * 8}` : p.pointer ? "an address: captured only with type: u64" : "",
    }));
  if (json) {
    process.stdout.write(JSON.stringify({ attach: `${kind}/${name}`, returnType: proto?.returnType, args: values }, null, 2) + "\n");
    return ExitCode.Ok;
  }
  process.stdout.write(`${kind}/${name}${proto ? `    (${proto.linkage} ${proto.returnType} ${name}(${proto.params.map((p) => p.cType).join(", ")}))` : "    (no BTF prototype: arguments are arg0..arg4, u64)"}\n`);
  if (kind === "fentry") process.stdout.write("  note: probegen does not attach fentry programs yet; this shows the function's arguments\n");
  if (values.length) process.stdout.write(formatTable(["name", "C type", "captured as", ""], values.map((v) => [v.name, v.cType, v.type, v.note]), { indent: "    " }) + "\n");
  return ExitCode.Ok;
}

function note(f: TracepointField): string {
  switch (f.access.kind) {
    case "user_string": return "user-space string (bpf_probe_read_user_str); size: to change";
    case "kernel_string": return "kernel string; size: to change";
    case "pointer": return "an address: captured only with type: u64";
    case "user_string_list": return "a list of user strings; count: and size: to change";
    case "data_loc_string": return "string stored in the record";
    case "array": return f.access.type.element.size === 1 ? "bytes, copied by value" : "copied by value";
    case "unsized_array": return "an array of no fixed length";
    default: return "";
  }
}

/** The network interfaces an xdp program can attach to (`--interface NAME`), with their index and state. */
function listInterfaces(pattern: string | undefined, json: boolean): number {
  const matcher = pattern ? globMatcher(pattern) : () => true;
  const found = networkInterfaces().filter((i) => matcher(i.name));
  if (json) process.stdout.write(JSON.stringify(found) + "\n");
  else if (found.length) process.stdout.write(formatTable(["INTERFACE", "INDEX", "STATE"], found.map((i) => [i.name, String(i.ifindex), i.state])) + "\n");
  if (found.length === 0) {
    process.stderr.write(`probegen list: no network interface${pattern ? ` matches '${pattern}'` : ""}\n`);
    return ExitCode.SpecError;
  }
  return ExitCode.Ok;
}
