/** What the fuzzer says: names, numbers and expressions that have found bugs, and plain ones. */
import type { Random } from "./random.js";

export const attachPoints = [
  "tracepoint/syscalls/sys_enter_openat", "tracepoint/syscalls/sys_exit_openat", "tracepoint/syscalls/sys_enter_read",
  "tracepoint/syscalls/sys_enter_execve", "tracepoint/sched/sched_switch", "tracepoint/sched/sched_process_exec",
  "tracepoint/sched/sched_wakeup", "tracepoint/raw_syscalls/sys_enter", "tracepoint/raw_syscalls/sys_exit",
  "tracepoint/sock/inet_sock_set_state", "tracepoint/syscalls/sys_enter_opnat", "tracepoint/nope/nope",
  "kprobe/do_sys_openat2", "kretprobe/do_sys_openat2", "fentry/do_sys_openat2", "fexit/do_sys_openat2",
  "tp_btf/sched_process_exec", "kprobe/no_such_function_x", "xdp", "xdp", "xdp/eth0", "sk_msg/socks", "sk_msg/nope",
  "tc/ingress", "tc/egress", "cgroup_skb/ingress", "cgroup_skb/egress", "socket", "tc/ingres", "cgroup_skb", "socket/eth0",
  "uprobe/libc:getppid", "uretprobe/libc:getppid", "uprobe/libc:getppdi", "uprobe/libc:getppid+0x10000", "uprobe/./my:app:main", "uprobe/libnope_x:f",
  "profile/99", "interval/100", "profile/0", "profile/99hz", "interval/x",
] as const;

/**
 * Attach patterns (kept small: every match is a program to compile and load), lists, and
 * patterns that match nothing or do not parse.
 */
export const attachPatterns: ReadonlyArray<string | string[]> = [
  "tracepoint/sched/sched_process_{exec,exit}", "tracepoint/syscalls/sys_enter_get[pu]id", "tracepoint/syscalls/sys_{enter,exit}_read",
  "tracepoint/syscalls/sys_enter_open*", "tracepoint/sched/sched_wak*", "tracepoint/syscalls/sys_enter_?ead", "kprobe/do_sys_open*",
  "tracepoint/syscalls/sys_enter_nope*", "tracepoint/sched/sched_process_{exec,exit", "tracepoint/sched/sched_process_{exec,nope}",
  ["tracepoint/syscalls/sys_enter_read", "tracepoint/syscalls/sys_enter_write"], ["tracepoint/sched/sched_process_exec", "tracepoint/sched/sched_process_e*"],
  ["tracepoint/syscalls/sys_enter_openat", "kprobe/do_sys_openat2"], "sk_msg/*", ["sk_msg/socks", "sk_msg/socks"],
  "uprobe/libc:getpp*", "uretprobe/libc:get{ppid,pid}",
];

/** An attach point, or now and then a pattern or a list of them. */
export function randomAttach(r: Random): string | string[] {
  return r.chance(0.25) ? structuredClone(r.pick(attachPatterns)) : r.pick(attachPoints);
}

/** Names that collide with C keywords, libbpf/helper globals, generated names, or each other. */
export const hostileNames = [
  "exit", "nan", "license", "barrier_var", "e", "st", "ctx", "type", "a_key", "event_a", "stash_x", "x_key",
  "by_user", "by__user", "a1", "a_1", "events", "main", "printf", "memset", "bpf", "int", "u64", "min", "max",
  "open", "probe", "params", "maps", "close", "object", "stats", "constructor", "prototype", "__proto__",
  "a".repeat(48), `${"b".repeat(40)}_one`, `${"b".repeat(40)}_two`, "x", "default", "new", "delete",
] as const;

export const plainNames = ["pid", "tid", "uid", "gid", "comm", "ktime", "cpu", "ret", "errno", "latency", "filename", "flags", "count", "n", "kstack", "ustack"] as const;

/** Sources a field or an expression can name. */
export const valueNames = [
  "pid", "tid", "uid", "gid", "comm", "ktime", "cpu", "ppid", "cgroup", "boot_ns", "ret", "errno", "latency",
  "filename", "flags", "mode", "dfd", "args.filename", "args.flags", "args.count", "args.fd", "args.args",
  "args.saddr", "args.saddr_v6", "args.sport", "args.newstate", "args.id", "args.next_pid", "args.prev_comm",
  "params.p", "params.target_pid", "arg0", "arg1", "retval", "task.real_parent.tgid", "task.comm", "nope", "probe",
  "argv", "args.envp", "params.s", "msg.size", "msg.remote_port", "msg.local_ip4", "msg.nope", "kstack", "ustack",
  ...packetNames(),
] as const;

/** Packet fields and header presence (network programs), and a few that are not. */
export function packetNames(): string[] {
  return [
    "eth.proto", "eth.vlan", "ip.saddr", "ip.daddr", "ip.proto", "ip.ttl", "ip6.saddr", "ip6.daddr", "ip6.next", "tcp.sport",
    "tcp.dport", "tcp.flags", "udp.sport", "udp.dport", "icmp.type", "icmp6.type", "pkt.len", "pkt.ifindex", "pkt.proto",
    "tcp", "udp", "ip", "ip6", "icmp", "eth", "tcp.nope", "ip.saddr.x", "toString", "tcp.constructor",
  ];
}

/** `action:` values: verdicts (some not of any kind), conditional ones, lists of both. */
export function randomAction(r: Random): unknown {
  const verdict = () => r.pick(["drop", "pass", "tx", "aborted", "redirect", "dorp", "DROP", ""]);
  const conditional = () => ({ [verdict()]: r.chance(0.8) ? randomExpr(r, 2) : r.pick(['udp.dport == 9', 'ip.saddr == "10.0.0.1"', 'ip.saddr == "1.2.3"', "tcp.flags & 2", "0", "comm == \"x\""]) });
  switch (r.int(0, 2)) {
    case 0: return verdict();
    case 1: return conditional();
    default: return Array.from({ length: r.int(1, 3) }, () => (r.chance(0.3) ? verdict() : conditional()));
  }
}

/** What an sk_msg program reads of a message, and names it does not have. */
export const messageNames = ["msg.size", "msg.family", "msg.local_ip4", "msg.remote_ip4", "msg.local_ip6", "msg.local_port", "msg.remote_port", "msg.sise", "msg", "pid", "comm", "args.filename", "retval", "ip.saddr"] as const;

/** String parameters: their types (some too big), defaults (some too long, one with a NUL) and the filters that compare them. */
export const stringParamTypes = ["string[1]", "string[2]", "string[16]", "string[64]", "string[256]", "string[257]"] as const;
export const stringParamDefaults: unknown[] = ["", "bash", "x".repeat(15), "x".repeat(16), "é".repeat(8), "a\u0000b", "\"?\\", 5, true];
export const stringParamFilters = (name: string): string[] => [
  `comm == params.${name}`, `params.${name} == "" || comm == params.${name}`, `filename != params.${name}`,
  `params.${name} == "bash"`, `params.${name} + 1 > 0`, `params.${name} == pid`, `args.prev_comm == params.${name}`,
];

export const interestingNumbers: unknown[] = [
  0, 1, -1, 2, 7, 16, 255, 256, 4095, 4096, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 4294971392,
  2 ** 53 + 1, 1e21, 1e30, Number.MAX_SAFE_INTEGER, "1".repeat(400), "18446744073709551616", "16MiB", "4GiB", "3KiB",
  "0", 0.5, -0.0,
];

export const interestingStrings: unknown[] = [
  "", " ", "x", "a\"b", "*/", "${x}", "`", "\u2028", "\u0000", "\n#define x 1", "string[16]", "string[0]",
  "string[4096]", "string[9999]", "u8", "u64", "i64", "bool", "hist", "ringbuf", "hash", "é", "GPL", "MIT",
  "Dual BSD/GPL", "x".repeat(300),
];

export const keyTypes: unknown[] = [
  "u8", "u16", "u32", "u64", "i32", "i64", "bool", "string[16]", "string[64]", "string[600]",
  { a: "u32", b: "u64" }, { comm: "string[16]", pid: "u32" }, { big: "string[520]" }, "kstack", { comm: "string[16]", ustack: "ustack", kstack: "kstack" },
];

const binaryOps = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=", "&&", "||"];
const unaryOps = ["!", "-", "~"];
const literals = ["0", "1", "-1", "64", "65", "4096", "2147483648", "4294967296", "18446744073709551615", "18446744073709551616",
  "1e21", '"abc"', '"a\\"b"', "'x'", "true", '""', '"bash"', '"10.0.0.1"', '"10.0.0.256"'];

/** A random expression, `depth` levels at most; with `maps`, some of its values read them. */
export function randomExpr(r: Random, depth = 3, maps: readonly string[] = []): string {
  if (depth <= 0 || r.chance(0.3)) {
    if (maps.length && r.chance(0.25)) return lookupExpr(r, maps);
    return r.chance(0.7) ? r.pick(valueNames) : r.chance(0.95) ? r.pick(literals) : `probe ${r.pick(["==", "!=", "<"])} "${r.pick(attachPoints)}"`;
  }
  switch (r.int(0, 3)) {
    case 0: return `${r.pick(unaryOps)}${randomExpr(r, depth - 1, maps)}`;
    case 1: return `(${randomExpr(r, depth - 1, maps)})`;
    default: return `${randomExpr(r, depth - 1, maps)} ${r.pick(binaryOps)} ${randomExpr(r, depth - 1, maps)}`;
  }
}

/**
 * A read of one of `maps` (or of a map that is not there): at a key, at a struct key, of a
 * member, of a keyless map, a presence test; right and wrong key counts and types alike.
 */
export function lookupExpr(r: Random, maps: readonly string[]): string {
  const map = r.chance(0.95) ? r.pick(maps) : r.pick(["nomap", "maps", "events"]);
  const key = () => (r.chance(0.8) ? r.pick(["pid", "tid", "uid", "cpu", "comm", "args.next_pid", "1", "0"]) : randomExpr(r, 1));
  switch (r.int(0, 7)) {
    case 0: return `${key()} in ${map}`;
    case 1: return `${map}[]`;
    case 2: return `${map}[${key()}, ${key()}]`;
    case 3: return `${map}[${key()}].${r.pick(["a", "b", "calls", "pid", "nope"])}`;
    case 4: return `(${key()}, ${key()}) in ${map}`;
    case 5: return `${map}[${map}[${key()}]]`;
    case 6: return r.pick([`maps.${map}`, `maps.${map}.value`, map]);
    default: return `${map}[${key()}]`;
  }
}

/** An expression nested `n` deep: parentheses, negations, or one long chain. */
export function deepExpr(r: Random, n: number): string {
  switch (r.int(0, 2)) {
    case 0: return `${"(".repeat(n)}pid${")".repeat(n)} == 1`;
    case 1: return `${"!".repeat(n)}pid`;
    default: return Array.from({ length: n }, () => r.pick(["pid", "1", "uid"])).join(" + ");
  }
}
