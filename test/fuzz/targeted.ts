/**
 * Targeted mutations: each plants the trigger of one bug class in a spec that is otherwise valid
 * and loads on any host (tracepoints only), so the case gets past the front end to clang, the
 * kernel and the TS decoders, where these bugs live. Random mutations rarely get that far: one
 * wrong name and the resolver stops them with a (correct) diagnostic.
 */
import { maps, programs, type Spec } from "./mutate.js";
import type { Random } from "./random.js";

/** A tracepoint every host has, with the values it offers by kind. */
interface Site {
  attach: string;
  ints: string[];
  /** Signed integers (BPF has no signed division: clang must be kept from emitting one). */
  signed: string[];
  /** A user-space string pointer, whose capture size the spec chooses. */
  userString?: string;
  /** sys_enter_*: can pair with its exit (`exit: true`). */
  pairs: boolean;
}

const sites: Site[] = [
  { attach: "tracepoint/syscalls/sys_enter_openat", ints: ["args.dfd", "args.flags", "args.mode"], signed: ["args.dfd", "args.flags"], userString: "args.filename", pairs: true },
  { attach: "tracepoint/syscalls/sys_enter_read", ints: ["args.fd", "args.count"], signed: [], pairs: true },
  { attach: "tracepoint/sched/sched_switch", ints: ["args.prev_pid", "args.next_pid", "args.prev_prio", "args.prev_state"], signed: ["args.prev_pid", "args.prev_prio", "args.prev_state"], pairs: false },
  { attach: "tracepoint/sched/sched_process_exec", ints: ["args.old_pid"], signed: ["args.old_pid"], pairs: false },
];

const openat = sites[0]!;

/** A spec the targeted mutations start from: one program that builds and loads as it is. */
export function baseSpec(r: Random): Spec {
  const site = r.pick(sites);
  return { name: "fz", programs: [{ attach: site.attach, fields: ["pid", "comm", ...(r.chance(0.5) ? [r.pick(site.ints)] : [])] }] };
}

function siteOf(program: Spec): Site {
  return sites.find((s) => s.attach === program.attach) ?? openat;
}

/**
 * The first program (the one every targeted mutation plants into), made if the spec has none,
 * and given a field if it has no effect of its own (the docs show programs with a filter alone).
 */
function first(spec: Spec): Spec {
  const ps = programs(spec);
  if (!ps.length) (spec.programs as unknown[]).push({ attach: openat.attach, fields: ["pid"] });
  const p = programs(spec)[0]!;
  if (!Array.isArray(p.fields) && !Array.isArray(p.update)) p.fields = ["pid"];
  return p;
}

function addUpdate(program: Spec, update: Spec): void {
  program.update = [...(Array.isArray(program.update) ? program.update : []), update];
}

function addField(program: Spec, field: unknown): void {
  program.fields = [...(Array.isArray(program.fields) ? program.fields : []), field];
}

/** An integer value the program offers: a builtin or one of its tracepoint's arguments. */
function someInt(r: Random, site: Site): string {
  return r.chance(0.5) ? r.pick(["pid", "uid", "tid", "ktime", "cpu"]) : r.pick(site.ints);
}

/** A name that is free in `taken`: the mutations add maps and params beside the seed's own. */
function fresh(r: Random, taken: object, base: string): string {
  let name = base;
  while (name in taken) name = `${base}_${r.int(2, 99)}`;
  return name;
}

/** Puts an expression where expressions go: the filter, an update's key, value or condition. */
function plantExpr(r: Random, spec: Spec, program: Spec, expr: string, boolish: boolean): string {
  const where = r.int(0, boolish ? 1 : 3);
  if (where === 0) {
    program.filter = boolish ? expr : `(${expr}) != 7`;
    return `filter: ${program.filter}`;
  }
  const name = fresh(r, maps(spec), "m");
  maps(spec)[name] = { type: "hash", key: "u64", value: "u64" };
  const update: Spec = where === 1 ? { map: name, key: "pid", count: true, if: boolish ? expr : `(${expr}) != 7` }
    : where === 2 ? { map: name, key: expr, count: true } : { map: name, key: "pid", sum: expr };
  addUpdate(program, update);
  return `update ${JSON.stringify(update)}`;
}

export type TargetedMutation = (r: Random, spec: Spec) => string;

export const targetedMutations: Record<string, TargetedMutation> = {
  /** A comparison (a string one above all) used as a map key. */
  comparisonKey(r, spec) {
    const p = first(spec);
    const name = fresh(r, maps(spec), "by_cmp");
    maps(spec)[name] = { type: "hash", key: r.pick(["u64", "u32", "u8", "bool"]), value: "u64" };
    const key = r.pick([`comm == "bash"`, `comm != "sshd"`, `comm == "x"`, `${someInt(r, siteOf(p))} > 5`, "pid == 1"]);
    addUpdate(p, { map: name, key, count: true });
    return `map ${name} keyed by '${key}'`;
  },
  /** A linear histogram whose range is empty, inverted or not a whole number of steps. */
  badLhist(r, spec) {
    const p = first(spec);
    const name = fresh(r, maps(spec), "lat");
    const [min, max, step] = r.pick([[10, 5, 1], [5, 5, 1], [100, 0, 10], [0, 10, 20], [-5, -10, 1], [0, 10, 3], [0, 100, 0]]);
    maps(spec)[name] = { type: "hash", key: "u32", value: { lhist: { min, max, step } } };
    addUpdate(p, { map: name, key: "pid", hist: someInt(r, siteOf(p)) });
    return `lhist {min: ${min}, max: ${max}, step: ${step}} updated by hist:`;
  },
  /**
   * A map read in an expression (runqlat's shape): stored at one key, read back in the filter,
   * a field, an update's key, value or condition, then deleted; structs and per-CPU maps too.
   */
  mapLookup(r, spec) {
    const p = first(spec);
    const site = siteOf(p);
    const name = fresh(r, maps(spec), "start");
    const [keyType, key, read] = r.pick<[unknown, unknown, string]>([
      ["u32", "tid", `${name}[tid]`],
      ["u64", someInt(r, site), `${name}[${someInt(r, site)}]`],
      [{ a: "u32", b: "string[16]" }, { a: "pid", b: "comm" }, `${name}[pid, comm]`],
      ["u8", "cpu", `${name}[cpu]`],
    ]);
    const valueType = r.pick<unknown>(["u64", "i32", "bool", { when: "u64", n: "u16" }]);
    const struct = typeof valueType === "object";
    const value = struct ? `${read}.${r.pick(["when", "n", "nope"])}` : read;
    maps(spec)[name] = { type: r.pick(["hash", "lru_hash", "percpu_hash"]), key: keyType, value: valueType, max_entries: 64 };
    addUpdate(p, { map: name, key, set: struct ? { when: "ktime", n: "1" } : valueType === "bool" ? "1" : "ktime" });
    const presence = r.chance(0.5) ? `(pid, comm) in ${name}` : `${typeof key === "string" ? key : "pid"} in ${name}`;
    const where = r.int(0, 4);
    if (where === 0) p.filter = r.pick([presence, `${value} != 0`, `${value} > 5 && ${presence}`]);
    else if (where === 1) addField(p, { name: "read_back", from: r.pick([value, presence]) });
    else if (where === 2) {
      const other = fresh(r, maps(spec), "lat");
      maps(spec)[other] = { value: r.pick<unknown>(["hist", "u64", { lhist: { min: 0, max: 1000, step: 100 } }]) };
      addUpdate(p, { map: other, [(maps(spec)[other] as Spec).value === "u64" ? r.pick(["sum", "max", "set"]) : "hist"]: `ktime - ${value}`, ...(r.chance(0.5) ? { if: presence } : {}) });
    } else if (where === 3) {
      const other = fresh(r, maps(spec), "by_read");
      maps(spec)[other] = { type: "hash", key: "u64", value: "u64" };
      addUpdate(p, { map: other, key: value, count: true });
    } else {
      p.filter = `${value} / ${value} == 1`;
    }
    if (r.chance(0.6)) addUpdate(p, { map: name, key, delete: true });
    return `map ${name} read as ${value} (${["filter", "field", "keyless update", "update key", "division"][where]})`;
  },
  /** A map of one value: no type and no key; updated without a key and read as NAME[]. */
  oneValueMap(r, spec) {
    const p = first(spec);
    const name = fresh(r, maps(spec), "total");
    const [map, op] = r.pick<[Spec, string]>([
      [{ value: "u64" }, r.pick(["count", "sum", "min", "max", "set"])],
      [{ type: "percpu_array", value: "u64" }, r.pick(["count", "sum", "max"])],
      [{ value: "hist" }, "hist"],
      [{ type: "percpu_array", value: { lhist: { min: 0, max: 100, step: 10 } } }, "hist"],
      [{ value: "i64" }, "min"],
      [{ value: { a: "u32", b: "u64" } }, "set"],
    ]);
    maps(spec)[name] = map;
    const update: Spec = { map: name, [op]: op === "count" ? true : op === "set" && typeof map.value === "object" ? { a: "pid", b: `${name}[].b + 1` } : r.pick(["ktime", someInt(r, siteOf(p)), `${name}[] + 1`]) };
    if (r.chance(0.1)) update.key = "pid";
    addUpdate(p, update);
    if (r.chance(0.5)) p.filter = r.pick([`${name}[] < 100`, `${name}[]`, `pid in ${name}`, `${name} > 0`, `maps.${name}.value > 0`]);
    return `one-value map ${name} ${JSON.stringify(map)} ${op}`;
  },
  /** A hash map (or an array) with no key type. */
  keylessMap(r, spec) {
    const p = first(spec);
    const name = fresh(r, maps(spec), "counts");
    const type = r.pick(["hash", "lru_hash", "percpu_hash", "array"]);
    maps(spec)[name] = { type, value: "u64", ...(type === "array" ? { max_entries: 16 } : {}) };
    const update: Spec = { map: name, count: true };
    if (r.chance(0.9)) update.key = r.pick<unknown>(type === "array" ? ["cpu"] : ["pid", "comm", { a: "pid" }]);
    addUpdate(p, update);
    return `${type} ${name} without key:, update ${JSON.stringify(update)}`;
  },
  /** A key or value bigger than the BPF stack (512 bytes), or just under it. */
  bigKeyOrValue(r, spec) {
    const p = first(spec);
    const name = fresh(r, maps(spec), "big");
    const n = r.pick([500, 504, 512, 513, 520, 600, 1024, 4096]);
    const map: Spec = { type: r.pick(["hash", "lru_hash", "percpu_hash"]), key: "u32", value: "u64" };
    let update: Spec;
    switch (r.int(0, 3)) {
      case 0: map.key = `string[${n}]`; update = { map: name, key: "comm", count: true }; break;
      case 1: map.value = `string[${n}]`; update = { map: name, key: "pid", set: "comm" }; break;
      case 2: map.key = { name: `string[${n}]`, pid: "u32" }; update = { map: name, key: { name: "comm", pid: "pid" }, count: true }; break;
      default: map.value = { name: `string[${n}]`, at: "u64" }; update = { map: name, key: "pid", set: { name: "comm", at: "ktime" } };
    }
    maps(spec)[name] = map;
    addUpdate(p, update);
    return `map ${name} ${JSON.stringify(map)}, update ${JSON.stringify(update)}`;
  },
  /** Two C structs with one name: pg_event_<event>, pg_<map>_key/_value, pg_stash_<program>. */
  structNameClash(r, spec) {
    const b = r.pick(["a", "x", "open", "lat"]);
    const role = r.pick(["key", "value"]);
    const mapType: Spec = role === "key" ? { type: "hash", key: { a: "u32", b: "u32" }, value: "u64" } : { type: "hash", key: "u32", value: r.chance(0.5) ? "hist" : { a: "u64" } };
    const update: Spec = role === "key" ? { key: { a: "pid", b: "uid" }, count: true }
      : mapType.value === "hist" ? { key: "pid", hist: "ktime" } : { key: "pid", set: { a: "ktime" } };
    if (r.chance(0.5)) {
      // pg_event_<b>_<role>: an event named <b>_<role> beside a map named event_<b>.
      const p = first(spec);
      p.event = `${b}_${role}`;
      maps(spec)[`event_${b}`] = mapType;
      addUpdate(p, { map: `event_${b}`, ...update });
      return `event ${b}_${role} beside map event_${b} with a struct ${role}`;
    }
    // pg_stash_<b>_<role>: a paired program named <b>_<role> beside a map named stash_<b>.
    (spec.programs as unknown[]).push({ attach: openat.attach, name: `${b}_${role}`, exit: true, fields: ["pid", "ret", "latency"] });
    maps(spec)[`stash_${b}`] = mapType;
    addUpdate(programs(spec).at(-1)!, { map: `stash_${b}`, ...update });
    return `exit program ${b}_${role} beside map stash_${b} with a struct ${role}`;
  },
  /** Two paired programs whose names share their first 31 characters: stash maps are cut at 40. */
  longStashNames(r, spec) {
    const prefix = Array.from({ length: r.int(31, 40) }, () => r.pick(["a", "b", "o"])).join("");
    const [one, two] = r.pick([["one", "two"], ["x", "y"]]);
    for (const [suffix, attach] of [[one, openat.attach], [two, r.pick(["tracepoint/syscalls/sys_enter_read", openat.attach])]]) {
      (spec.programs as unknown[]).push({ attach, name: `${prefix}_${suffix}`, event: `e_${suffix}`, exit: true, fields: ["pid", "ret"] });
    }
    return `paired programs ${prefix}_${one} and ${prefix}_${two}`;
  },
  /** Signed division or modulo by a value known only at run time. */
  signedDivision(r, spec) {
    const p = first(spec);
    const site = siteOf(p);
    const op = r.pick(["/", "%"]);
    let divisor: string;
    if (!site.signed.length || r.chance(0.5)) {
      const param = fresh(r, (spec.params as object | undefined) ?? {}, "d");
      spec.params = { ...((spec.params as object | undefined) ?? {}), [param]: { type: r.pick(["i8", "i32", "i64"]), default: r.pick([1, 3, -2]) } };
      divisor = `params.${param}`;
    } else {
      divisor = r.pick(site.signed);
    }
    const dividend = r.chance(0.5) && site.signed.length ? r.pick(site.signed) : someInt(r, site);
    return plantExpr(r, spec, p, `${dividend} ${op} ${divisor}`, false);
  },
  /** An integer where a condition goes. */
  intCondition(r, spec) {
    const p = first(spec);
    const v = someInt(r, siteOf(p));
    if (r.chance(0.4)) {
      p.filter = v;
      return `filter: ${v}`;
    }
    const name = fresh(r, maps(spec), "n");
    maps(spec)[name] = { type: "hash", key: "u32", value: "u64" };
    addUpdate(p, { map: name, key: "pid", count: true, if: v });
    return `update ${name} if: ${v}`;
  },
  /** Numbers YAML reads as floats, or as integers past 2^64, where the C wants an integer. */
  floatNumber(r, spec) {
    const p = first(spec);
    const huge = r.pick<unknown>([1e21, 1e30, 10n ** 400n, 2n ** 64n, 2 ** 64, 1.5, 2n ** 64n + 1n]);
    const shown = String(huge);
    switch (r.int(0, 4)) {
      case 0: {
        const name = fresh(r, maps(spec), "ring");
        maps(spec)[name] = { type: "ringbuf", size: huge };
        p.output = name;
        return `ring ${name} size: ${shown}`;
      }
      case 1: {
        const name = fresh(r, maps(spec), "m");
        maps(spec)[name] = { type: "hash", key: "u32", value: "u64", max_entries: huge };
        addUpdate(p, { map: name, key: "pid", count: true });
        return `map ${name} max_entries: ${shown}`;
      }
      case 2: {
        const name = fresh(r, maps(spec), "lat");
        maps(spec)[name] = { type: "hash", key: "u32", value: { lhist: r.chance(0.5) ? { min: 0, max: huge, step: 1e20 } : { min: 0, max: 100, step: huge } } };
        addUpdate(p, { map: name, key: "pid", hist: "ktime" });
        return `lhist with ${shown}`;
      }
      case 3: {
        const name = fresh(r, maps(spec), "m");
        maps(spec)[name] = { type: "hash", key: "u64", value: "u64" };
        addUpdate(p, { map: name, key: huge, count: true });
        return `update key: ${shown}`;
      }
      default: {
        spec.params = { ...((spec.params as object | undefined) ?? {}), big: { type: r.pick(["u64", "i64", "u32"]), default: huge } };
        p.filter = "pid != params.big";
        return `param default: ${shown}`;
      }
    }
  },
  /** Division by zero and shifts past the width: undefined in C, so clang may drop the program. */
  undefinedArithmetic(r, spec) {
    const p = first(spec);
    const v = someInt(r, siteOf(p));
    const expr = r.pick([`${v} / 0`, `${v} % 0`, `ktime >> 65`, `ktime >> 64`, `${v} << 64`, "1 << 64", `pid >> 32`, `${v} % (1 - 1)`, `${v} << 70`]);
    return plantExpr(r, spec, p, expr, false);
  },
  /** An event bigger than its ring buffer can hold (8-byte record header included), or just fitting. */
  eventOverRing(r, spec) {
    const ring = fresh(r, maps(spec), "small");
    const size = r.pick([4096, 4096, 8192]);
    maps(spec)[ring] = { type: "ringbuf", size };
    // One string of up to 4096 bytes (the most a capture takes), or two that add up to about the ring.
    const captures = r.pick([[size / 2 - 16], [4080], [4096], [size / 2 - 16, size / 2 - 16], [size / 2, size / 2], [2048, 2049]].map((c) => c.map((n) => Math.min(n, 4096))));
    const fields = captures.map((n, i) => ({ name: `path${i}`, from: openat.userString, size: n }));
    (spec.programs as unknown[]).push({ attach: openat.attach, name: "big", event: "big", output: ring, fields: ["pid", ...fields] });
    return `ring ${ring} of ${size} bytes, event with ${captures.join(" + ")}-byte strings`;
  },
  /** Names that become one TS name (camelCase, PascalCase + Event), or shadow the event tag. */
  tsNameClash(r, spec) {
    const p = first(spec);
    const b = r.pick(["a", "by", "x"]);
    const [one, two] = r.pick([[`${b}_1`, `${b}1`], [`${b}_user`, `${b}__user`], [`${b}_x_1`, `${b}_x1`]]);
    switch (r.int(0, 5)) {
      case 0:
        addField(p, { name: one, from: "pid" });
        addField(p, { name: two, from: "uid" });
        return `fields ${one} and ${two}`;
      case 1:
        for (const name of [one, two]) {
          maps(spec)[name] = { type: "hash", key: "u32", value: "u64" };
          addUpdate(p, { map: name, key: "pid", count: true });
        }
        return `maps ${one} and ${two}`;
      case 2:
        spec.params = { ...((spec.params as object | undefined) ?? {}), [one]: { type: "u32" }, [two]: { type: "u32" } };
        p.filter = `pid != params.${one} && uid != params.${two}`;
        return `params ${one} and ${two}`;
      case 3:
        p.event = one;
        (spec.programs as unknown[]).push({ attach: openat.attach, name: "second", event: two, fields: ["pid", "uid"] });
        return `events ${one} and ${two} on one ring`;
      case 4: {
        const name = fresh(r, maps(spec), "m");
        maps(spec)[name] = { type: "hash", key: { [one]: "u32", [two]: "u32" }, value: "u64" };
        addUpdate(p, { map: name, key: { [one]: "pid", [two]: "uid" }, count: true });
        return `map ${name} key members ${one} and ${two}`;
      }
      default: {
        const name = r.pick(["open", "fz", "events", "probe"]);
        spec.name = name;
        p.event = r.chance(0.5) ? name : `${name}_`;
        return `probe ${name} with an event ${String(p.event)}`;
      }
    }
  },
  /** A field named `type` in a ring carrying several event types (whose tag is `type`). */
  typeField(r, spec) {
    const p = first(spec);
    addField(p, { name: "type", from: r.pick(["pid", "comm", "uid"]) });
    if (r.chance(0.8)) {
      p.event ??= "one";
      (spec.programs as unknown[]).push({ attach: openat.attach, name: "second", event: p.event === "two" ? "three" : "two", fields: ["pid"] });
      return "field 'type' in a ring with two event types";
    }
    return "field 'type' in a ring with one event type";
  },
  /**
   * The first program made an sk_msg program of a sockmap or sockhash (any key): it captures the
   * message's fields (addresses as bytes or text, ports, some read as other types), keys a map by
   * them and may drop on one: context reads the verifier checks word by word, byte order, decoders.
   */
  skMsgFields(r, spec) {
    const p = first(spec);
    const socks = fresh(r, maps(spec), "socks");
    maps(spec)[socks] = r.chance(0.6) ? { type: "sockmap", max_entries: r.pick([1, 8, 64]) } : { type: "sockhash", key: r.pick(["u32", "u64", { ip: "u32", port: "u16" }, "string[16]"]) };
    p.attach = `sk_msg/${socks}`;
    delete p.exit;
    const names = ["msg.size", "msg.family", "msg.local_ip4", "msg.remote_ip4", "msg.local_ip6", "msg.remote_ip6", "msg.local_port", "msg.remote_port", "pid", "comm", "ktime"];
    const numbers = ["msg.size", "msg.family", "msg.local_ip4", "msg.remote_ip4", "msg.local_port", "msg.remote_port"];
    p.fields = Array.from({ length: r.int(1, 4) }, () => (r.chance(0.7) ? r.pick(names) : { name: fresh(r, {}, "f"), from: r.pick(numbers), type: r.pick(["u8", "u16", "u64", "i32"]) }));
    p.fields = [...new Map((p.fields as unknown[]).map((f) => [typeof f === "string" ? f : (f as Spec).name, f])).values()];
    const key = r.pick(numbers);
    const counts = fresh(r, maps(spec), "by_msg");
    maps(spec)[counts] = { type: "hash", key: r.pick(["u16", "u32", "u64"]), value: "u64" };
    p.update = [{ map: counts, key, ...(r.chance(0.5) ? { count: true } : { sum: "msg.size" }) }];
    if (r.chance(0.5)) p.action = { drop: `${r.pick(numbers)} == ${r.pick(["0", "13", "80"])}` };
    return `sk_msg/${socks} (${String((maps(spec)[socks] as Spec).type)}) with ${JSON.stringify(p.fields)}, ${counts}[${key}]${p.action ? `, ${JSON.stringify(p.action)}` : ""}`;
  },
};
