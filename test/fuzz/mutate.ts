/**
 * Mutations of a spec: each takes a parsed spec (changed in place) or its YAML text, and returns
 * what it did, so a failing case says how it was made.
 */
import { stringify } from "yaml";
import { deepExpr, packetNames, randomAction, hostileNames, interestingNumbers, interestingStrings, keyTypes, messageNames, plainNames, randomAttach, randomExpr, stringParamDefaults, stringParamFilters, stringParamTypes, valueNames } from "./pools.js";
import type { Random } from "./random.js";

type Node = Record<string, unknown> | unknown[];
type Path = Array<string | number>;
export type Spec = Record<string, unknown>;

export function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null;
}

/** Every path in the tree, the root excepted. */
function paths(root: unknown, at: Path = []): Path[] {
  if (!isNode(root)) return [];
  const out: Path[] = [];
  for (const [k, v] of Object.entries(root)) {
    const p = [...at, Array.isArray(root) ? Number(k) : k];
    out.push(p, ...paths(v, p));
  }
  return out;
}

function parentOf(root: unknown, path: Path): Node {
  let node = root as Node;
  for (const k of path.slice(0, -1)) node = (node as Record<string, unknown>)[k as string] as Node;
  return node;
}

function get(root: unknown, path: Path): unknown {
  return (parentOf(root, path) as Record<string | number, unknown>)[path[path.length - 1]!];
}

function set(root: unknown, path: Path, value: unknown): void {
  (parentOf(root, path) as Record<string | number, unknown>)[path[path.length - 1]!] = value;
}

function remove(root: unknown, path: Path): void {
  const parent = parentOf(root, path);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last as string];
}

const expressionKeys = new Set(["filter", "if", "sum", "hist", "min", "max", "value"]);

export function programs(spec: Spec): Spec[] {
  if (!Array.isArray(spec.programs)) spec.programs = [{ attach: "tracepoint/syscalls/sys_enter_openat", fields: ["pid"] }];
  return (spec.programs as unknown[]).filter(isNode) as Spec[];
}

export function maps(spec: Spec): Record<string, Spec> {
  if (!isNode(spec.maps) || Array.isArray(spec.maps)) spec.maps = {};
  return spec.maps as Record<string, Spec>;
}

export function someProgram(r: Random, spec: Spec): Spec {
  const ps = programs(spec);
  if (!ps.length) (spec.programs as unknown[]).push({ attach: "tracepoint/syscalls/sys_enter_openat", fields: ["pid"] });
  return r.pick(programs(spec));
}

function someName(r: Random): string {
  return r.chance(0.7) ? r.pick(hostileNames) : r.pick(plainNames);
}

export type SpecMutation = (r: Random, spec: Spec) => string;

export const specMutations: Record<string, SpecMutation> = {
  deleteKey(r, spec) {
    const all = paths(spec);
    if (!all.length) return "nothing to delete";
    const p = r.pick(all);
    remove(spec, p);
    return `deleted ${p.join(".")}`;
  },
  replaceScalar(r, spec) {
    const leaves = paths(spec).filter((p) => !isNode(get(spec, p)));
    if (!leaves.length) return "no scalar";
    const p = r.pick(leaves);
    const v = r.chance(0.5) ? r.pick(interestingNumbers) : r.pick(interestingStrings);
    set(spec, p, v);
    return `${p.join(".")} = ${JSON.stringify(v)?.slice(0, 40)}`;
  },
  swapType(r, spec) {
    const all = paths(spec);
    if (!all.length) return "nothing to swap";
    const p = r.pick(all);
    const v = r.pick<unknown>([null, [], {}, [1, 2], { a: 1 }, true, 3, "x"]);
    set(spec, p, v);
    return `${p.join(".")} = ${JSON.stringify(v)}`;
  },
  renameThing(r, spec) {
    const name = someName(r);
    switch (r.int(0, 4)) {
      case 0: {
        const m = maps(spec);
        const old = r.pick(Object.keys(m).length ? Object.keys(m) : ["counts"]);
        m[name] = m[old] ?? { type: "hash", key: "u32", value: "u64" };
        if (old !== name) delete m[old];
        for (const p of programs(spec)) for (const u of (Array.isArray(p.update) ? p.update : []) as Spec[]) if (isNode(u) && u.map === old) u.map = name;
        return `map ${old} -> ${name}`;
      }
      case 1: someProgram(r, spec).name = name; return `program name ${name}`;
      case 2: someProgram(r, spec).event = name; return `event ${name}`;
      case 3: spec.name = name; return `probe name ${name}`;
      default: {
        const p = someProgram(r, spec);
        p.fields = [...(Array.isArray(p.fields) ? p.fields : []), { name, from: r.pick(valueNames) }];
        return `field ${name}`;
      }
    }
  },
  duplicateEntry(r, spec) {
    const m = maps(spec);
    const keys = Object.keys(m);
    if (keys.length && r.chance(0.5)) {
      const k = r.pick(keys);
      m[`${k}_2`] = structuredClone(m[k]);
      return `map ${k} copied`;
    }
    const ps = programs(spec);
    (spec.programs as unknown[]).push(structuredClone(r.pick(ps.length ? ps : [{ attach: "tracepoint/syscalls/sys_enter_openat" }])));
    return "program copied";
  },
  addAction(r, spec) {
    const p = someProgram(r, spec);
    p.action = randomAction(r);
    return `action ${JSON.stringify(p.action)?.slice(0, 60)}`;
  },
  xdpProgram(r, spec) {
    // A network program reading packet fields: in its fields, its filter, a map key, its actions.
    const fields = Array.from({ length: r.int(1, 4) }, () => r.pick(packetNames()));
    const program: Spec = { attach: "xdp", fields };
    if (r.chance(0.5)) program.filter = r.chance(0.5) ? `${r.pick(packetNames())} ${r.pick(["==", "!=", "<", "&"])} ${r.pick(["9", "0", "6", '"10.0.0.1"'])}` : randomExpr(r, 2);
    if (r.chance(0.5)) {
      const m = maps(spec);
      m.by_packet = { type: "hash", key: r.pick(["u16", "u32", "u8", "u8[16]", { port: "u16", proto: "u8" }]), value: "u64", max_entries: 64 };
      const key = isNode(m.by_packet.key) ? { port: r.pick(packetNames()), proto: r.pick(packetNames()) } : r.pick(packetNames());
      program.update = [{ map: "by_packet", key, count: true, ...(r.chance(0.5) ? { if: r.pick(packetNames()) } : {}) }];
    }
    if (r.chance(0.6)) program.action = randomAction(r);
    // Half the time it is the spec's only program, so more of them get past the seed's own programs to the kernel.
    if (r.chance(0.5)) spec.programs = [program];
    else (spec.programs as unknown[]).push(program);
    return `xdp program ${JSON.stringify(program).slice(0, 80)}`;
  },
  deepExpression(r, spec) {
    const n = r.pick([50, 200, 300, 1000, 20000]);
    someProgram(r, spec).filter = deepExpr(r, n);
    return `filter nested ${n}`;
  },
  randomExpression(r, spec) {
    const p = someProgram(r, spec);
    const e = randomExpr(r, r.int(1, 4), Object.keys(maps(spec)));
    if (r.chance(0.5)) p.filter = e;
    else p.fields = [...(Array.isArray(p.fields) ? p.fields : []), { name: "v", from: e }];
    return `expression ${e}`;
  },
  extremeNumber(r, spec) {
    const m = maps(spec);
    const name = r.pick(Object.keys(m).length ? Object.keys(m) : ["events"]);
    m[name] ??= { type: "ringbuf" };
    const what = r.pick(m[name]!.type === "ringbuf" ? ["size"] : ["max_entries", "lhist"]);
    const n = r.pick(interestingNumbers);
    if (what === "lhist") m[name]!.value = { lhist: { min: r.pick([0, 5, 10, 1e21]), max: r.pick([5, 10, 100, 1e21]), step: r.pick([1, 3, 0, 1e30]) } };
    else m[name]![what] = n;
    return `map ${name} ${what} ${JSON.stringify(n)?.slice(0, 30)}`;
  },
  addUpdate(r, spec) {
    const m = maps(spec);
    const name = r.chance(0.95) && Object.keys(m).length ? r.pick(Object.keys(m)) : "nomap";
    const kind = r.pick(["count", "sum", "hist", "min", "max"]);
    const names = Object.keys(m);
    const update: Spec = { map: name, [kind]: kind === "count" ? true : r.chance(0.5) ? r.pick(valueNames) : randomExpr(r, 2, names) };
    if (r.chance(0.8)) update.key = r.chance(0.7) ? r.pick(valueNames) : r.chance(0.5) ? r.int(-2, 5) : r.chance(0.5) ? { a: r.pick(valueNames), b: "pid" } : randomExpr(r, 1, names);
    if (r.chance(0.3)) update.if = randomExpr(r, 2, names);
    const p = someProgram(r, spec);
    p.update = [...(Array.isArray(p.update) ? p.update : []), update];
    return `update ${JSON.stringify(update).slice(0, 60)}`;
  },
  addMap(r, spec) {
    const name = someName(r);
    // undefined: a keyless map (one value), unless a key is given too.
    const type = r.pick(["hash", "lru_hash", "percpu_hash", "array", "percpu_array", "ringbuf", "lru_percpu_hash", "sockmap", "sockhash", undefined]);
    const map: Spec = type ? { type } : {};
    if (!type) {
      map.value = r.pick<unknown>(["u64", "i32", "hist", { lhist: { min: 0, max: 100, step: 10 } }, { a: "u32", b: "u64" }]);
      if (r.chance(0.1)) map.key = r.pick(keyTypes);
      maps(spec)[name] = map;
      return `map ${name}: ${JSON.stringify(map).slice(0, 60)}`;
    }
    if (type !== "ringbuf" && r.chance(0.9)) map.key = r.pick(keyTypes);
    if (type !== "ringbuf") map.value = r.pick<unknown>([...keyTypes, "hist", { lhist: { min: 0, max: 100, step: 10 } }]);
    if (type === "ringbuf" ? r.chance(0.3) : type.includes("array") || r.chance(0.4)) map[type === "ringbuf" ? "size" : "max_entries"] = r.chance(0.7) ? r.pick([1, 64, 4096, 65536]) : r.pick(interestingNumbers);
    maps(spec)[name] = map;
    return `map ${name}: ${JSON.stringify(map).slice(0, 60)}`;
  },
  addField(r, spec) {
    const p = someProgram(r, spec);
    const f = r.chance(0.5) ? r.pick(valueNames) : { name: someName(r), from: r.pick(valueNames), ...(r.chance(0.3) ? { type: r.pick(["u8", "u32", "u64", "i64", "string[8]", "u8[16]", "bool"]) } : {}) };
    p.fields = [...(Array.isArray(p.fields) ? p.fields : []), f];
    return `field ${JSON.stringify(f)}`;
  },
  /** A decoder on a field (any, fitting or not) or on a map's key (a name, per member, or a member that is not there). */
  addDecode(r, spec) {
    const decoders = ["symbolic", "flags", "errno", "open_flags", "signal", "syscall", "ksym", "ipv4", "ipv6", "inet_addr", "port", "wallclock", "none"];
    const decode = r.chance(0.9) ? r.pick(decoders) : r.pick<unknown>(["nope", 7, null, ["errno"]]);
    if (r.chance(0.3)) {
      const m = maps(spec);
      const names = Object.keys(m).filter((n) => isNode(m[n]));
      if (names.length) {
        const name = r.pick(names);
        m[name]!.decode = r.chance(0.7) ? decode : { [r.pick(["uid", "comm", "nr", someName(r)])]: decode };
        return `map ${name} decode ${JSON.stringify(m[name]!.decode)}`;
      }
    }
    const p = someProgram(r, spec);
    const f = { name: someName(r), from: r.pick([...valueNames, "__syscall_nr", "ktime", "boot_ns", "errno", "flags"]), decode, ...(r.chance(0.3) ? { type: r.pick(["u16", "u32", "u64", "u8[4]", "u8[16]"]) } : {}) };
    p.fields = [...(Array.isArray(p.fields) ? p.fields : []), f];
    return `field ${JSON.stringify(f)}`;
  },
  toggleExit(r, spec) {
    const p = someProgram(r, spec);
    // Pairs that pair (with the seeds' sys_enter_openat, or a kprobe on do_sys_openat2) and ones that do not.
    p.exit = p.exit ? undefined : r.pick<unknown>([true, "tracepoint/syscalls/sys_exit_openat", "kretprobe/do_sys_openat2", "tracepoint/sched/sched_switch"]);
    if (p.exit === undefined) delete p.exit;
    return `exit ${JSON.stringify(p.exit)}`;
  },
  /**
   * A program made sk_msg: for a sockmap or sockhash the spec declares (keyed or not, now and
   * then with a value it may not have), for a map of another kind or for none; reading the
   * message's fields and other kinds' names, counting into a hash keyed by one of them.
   */
  skMsg(r, spec) {
    const name = r.chance(0.8) ? "socks" : someName(r);
    const type = r.pick(["sockmap", "sockmap", "sockhash", "hash", undefined]);
    if (type) maps(spec)[name] = { type, ...(type !== "sockmap" || r.chance(0.2) ? { key: r.pick(keyTypes) } : {}), ...(r.chance(0.1) ? { value: "u64" } : {}), ...(r.chance(0.3) ? { max_entries: r.pick([1, 64, 4096]) } : {}) };
    const p = someProgram(r, spec);
    p.attach = `sk_msg/${r.chance(0.9) ? name : "nope"}`;
    delete p.exit;
    const read = r.pick(messageNames);
    p.fields = [...(Array.isArray(p.fields) ? p.fields.filter(() => r.chance(0.3)) : []), read, ...(r.chance(0.5) ? [r.pick(messageNames)] : [])];
    if (r.chance(0.5)) {
      maps(spec).per_port = { type: "hash", key: r.pick(["u16", "u32", "u64"]), value: "u64" };
      p.update = [{ map: "per_port", key: r.pick(messageNames), ...(r.chance(0.5) ? { count: true } : { sum: "msg.size" }) }];
    }
    if (r.chance(0.3)) p.filter = `${r.pick(messageNames)} ${r.pick([">", "==", "!="])} ${r.pick(["0", "80", "65536", "\"x\""])}`;
    if (r.chance(0.4)) p.action = r.chance(0.5) ? { drop: `${r.pick(messageNames)} == ${r.pick(["13", "80", "0"])}` } : randomAction(r);
    return `sk_msg ${p.attach} (${type ?? "undeclared"} ${name}) reading ${read}`;
  },
  changeAttach(r, spec) {
    const a = randomAttach(r);
    someProgram(r, spec).attach = a;
    return `attach ${JSON.stringify(a)}`;
  },
  addParam(r, spec) {
    const name = r.chance(0.5) ? "p" : someName(r);
    const type = r.pick(["u8", "u16", "u32", "u64", "i8", "i64", "bool"]);
    const param: Spec = { type };
    if (r.chance(0.6)) param.default = r.pick<unknown>([0, 1, -1, 255, 256, 2 ** 32, true, 1e21, 2 ** 53 + 1]);
    spec.params = { ...(isNode(spec.params) ? spec.params : {}), [name]: param };
    if (r.chance(0.7)) someProgram(r, spec).filter = `pid != params.${name}`;
    return `param ${name} ${JSON.stringify(param)}`;
  },
  addStringParam(r, spec) {
    const name = r.chance(0.6) ? "s" : someName(r);
    const param: Spec = { type: r.pick(stringParamTypes) };
    if (r.chance(0.7)) param.default = r.pick(stringParamDefaults);
    spec.params = { ...(isNode(spec.params) ? spec.params : {}), [name]: param };
    const p = someProgram(r, spec);
    if (r.chance(0.8)) p.filter = r.pick(stringParamFilters(name));
    if (r.chance(0.2)) p.fields = [...(Array.isArray(p.fields) ? p.fields : []), `params.${name}`];
    return `string param ${name} ${JSON.stringify(param)} filter ${JSON.stringify(p.filter)}`;
  },
  addStringList(r, spec) {
    const p = someProgram(r, spec);
    if (r.chance(0.8)) p.attach = r.pick(["tracepoint/syscalls/sys_enter_execve", "tracepoint/syscalls/sys_enter_execveat"]);
    const f: Spec = { name: r.chance(0.5) ? "argv" : someName(r), from: r.pick(["argv", "args.argv", "envp", "filename", "comm"]) };
    if (r.chance(0.6)) f.count = r.pick<unknown>([1, 4, 20, 64, 128, 129, 0, 1e21]);
    if (r.chance(0.6)) f.size = r.pick<unknown>([1, 2, 8, 128, 256, 4096, 4097]);
    if (r.chance(0.1)) f.type = r.pick(["u64", "user_string", "u8[8]"]);
    p.fields = [...(Array.isArray(p.fields) ? p.fields : []), f];
    return `string list ${JSON.stringify(f)} on ${String(p.attach)}`;
  },
  changeLicense(r, spec) {
    spec.license = r.pick(["GPL", "MIT", "Dual MIT/GPL", "Proprietary", "GPL v2", ""]);
    return `license ${JSON.stringify(spec.license)}`;
  },
  expressionInPlace(r, spec) {
    // An expression-valued key somewhere in the spec gets a random expression.
    const at = paths(spec).filter((p) => expressionKeys.has(String(p[p.length - 1])));
    if (!at.length) return "no expression";
    const p = r.pick(at);
    const e = randomExpr(r, r.int(1, 4));
    set(spec, p, e);
    return `${p.join(".")} = ${e}`;
  },
};

export type TextMutation = (r: Random, text: string) => { text: string; what: string };

export const textMutations: Record<string, TextMutation> = {
  yamlText(r, text) {
    switch (r.int(0, 6)) {
      case 0: {
        // A billion-laughs alias bomb.
        const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
        for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
        return { text: `${lines.join("\n")}\n${text}`, what: "alias bomb" };
      }
      case 1: return unquotedExpression(r, text);
      case 2: return { text: text.slice(0, r.int(0, text.length)), what: "truncated" };
      case 3: return { text: text.replace(/\n  /, "\n\t "), what: "tab indent" };
      case 4: return { text: `${text}\nname: again\n`, what: "duplicate key" };
      case 5: return { text: text.replace(/: /, ": \u0000"), what: "NUL" };
      default: return { text: text.replace(/\n/g, "\r\n"), what: "CRLF" };
    }
  },
};

/** Expressions YAML reads as something else unless quoted: in a block mapping, and in a flow one. */
const misreadInBlock = ["*ptr == 0", "!(pid == 1)", "pid: 1", "@x > 0", "`x > 0", "%x > 0", "[pid] > 0", "{pid} > 0", "&mask != 0", "comm == \"a: b\""];
const misreadInFlow = [...misreadInBlock, "start[pid] > 0", "ktime - start[args.next_pid]", "a{b}", "pid #x"];

/**
 * An expression written unquoted after the first program's attach point, as a filter or in a
 * flow-style update: the spec must be refused with a yaml-unquoted-expression first (see the
 * "unquoted expression not explained" outcome).
 */
export function unquotedExpression(r: Random, text: string): { text: string; what: string } {
  const flow = r.chance(0.5);
  const e = r.pick(flow ? misreadInFlow : misreadInBlock);
  const line = flow ? `update: [{ map: m, key: pid, ${r.pick(["hist", "sum", "if", "max"])}: ${e} }]` : `filter: ${e}`;
  const out = text.replace(/^(\s*-\s+|\s+)attach: .*$/m, (all, lead: string) => `${all}\n${" ".repeat(lead.length)}${line}`);
  return { text: out, what: `${UNQUOTED_EXPRESSION}: ${line}` };
}

/** The `what` of an unquoted-expression text mutation starts with this. */
export const UNQUOTED_EXPRESSION = "unquoted expression";

/** Mutations that keep most of a spec valid come up more often, so more cases reach clang and the kernel. */
const weighted = Object.keys(specMutations).flatMap((name) =>
  Array.from({ length: ["deleteKey", "replaceScalar", "swapType"].includes(name) ? 1 : 3 }, () => name));

/** `count` (default: 1 or 2) mutations of a seed spec, as YAML text, and what they were. */
export function mutate(r: Random, seed: Record<string, unknown>, count = r.int(1, 2)): { text: string; steps: string[] } {
  const spec = structuredClone(seed);
  const steps: string[] = [];
  for (let i = count; i > 0; i--) {
    const name = r.pick(weighted);
    steps.push(`${name}: ${specMutations[name]!(r, spec)}`);
  }
  let text = stringify(spec, { lineWidth: 0 });
  if (r.chance(0.06)) {
    const m = textMutations.yamlText!(r, text);
    text = m.text;
    steps.push(`yamlText: ${m.what}`);
  }
  return { text, steps };
}
