/**
 * sk_msg/MAP: runs for every message a socket of sockmap or sockhash MAP sends (sendmsg,
 * write, sendfile), before it leaves, and decides whether it goes (SK_PASS) or not (SK_DROP,
 * and the sender's call fails with EACCES). The program is attached to the map
 * (BPF_SK_MSG_VERDICT), not to a kernel event: TypeScript adds the sockets to the map.
 */
import { didYouMean } from "../suggest.js";
import { u8, u16, u32, type ArrayType } from "../types.js";
import type { AttachContext, AttachKind, ContextField, Verdicts } from "./kind.js";

export interface SkMsgPoint {
  kind: "sk_msg";
  /** The spec's sockmap or sockhash whose sockets the program sees. */
  map: string;
}

const SOCKET_MAPS = ["sockmap", "sockhash"];

const ip6: ArrayType = { kind: "array", element: u8, length: 16 };

/** The four words of an IPv6 address in sk_msg_md, in network byte order. */
function ip6Words(member: string): string[] {
  return [0, 1, 2, 3].map((i) => `ctx->${member}[${i}]`);
}

/**
 * What a program reads of a message (struct sk_msg_md), in the byte order a spec compares:
 * ports as numbers, IPv4 addresses as the kernel keeps them (network order, shown as text).
 */
export const messageFields: readonly ContextField[] = [
  { name: "msg.size", type: u32, c: "ctx->size", description: "bytes in the message" },
  { name: "msg.family", type: u32, c: "ctx->family", description: "address family of the socket (2: AF_INET, 10: AF_INET6)" },
  { name: "msg.local_ip4", type: u32, c: "ctx->local_ip4", decode: "ipv4", description: "the socket's IPv4 address (network byte order)" },
  { name: "msg.remote_ip4", type: u32, c: "ctx->remote_ip4", decode: "ipv4", description: "the peer's IPv4 address (network byte order)" },
  { name: "msg.local_ip6", type: ip6, words: ip6Words("local_ip6"), decode: "ipv6", description: "the socket's IPv6 address" },
  { name: "msg.remote_ip6", type: ip6, words: ip6Words("remote_ip6"), decode: "ipv6", description: "the peer's IPv6 address" },
  { name: "msg.local_port", type: u16, c: "(__u16)ctx->local_port", description: "the socket's port" },
  // The kernel keeps the peer's port in network byte order in the high 16 bits (the low ones on big-endian): bpf_ntohl puts it in the low 16 bits.
  { name: "msg.remote_port", type: u16, c: "(__u16)bpf_ntohl(ctx->remote_port)", description: "the peer's port" },
];

const verdicts: Verdicts = {
  default: "pass",
  actions: {
    pass: { c: "SK_PASS", drops: false },
    drop: { c: "SK_DROP", drops: true },
  },
};

/** The spec's maps that hold sockets. */
function socketMaps(ctx: AttachContext): string[] {
  return [...(ctx.declaredMaps?.() ?? [])].filter(([, kind]) => SOCKET_MAPS.includes(kind)).map(([name]) => name);
}

export const skMsg: AttachKind<SkMsgPoint> = {
  prefixes: ["sk_msg"],
  targetNoun: "sockmap or sockhash of this spec",
  candidates(ctx) {
    if (!ctx.declaredMaps) {
      return ctx.fail("no-candidates", "sk_msg programs attach to a sockmap or sockhash their spec declares: the kernel has none to list",
        "declare one under maps: (type: sockmap) and write attach: sk_msg/NAME");
    }
    return socketMaps(ctx);
  },
  resolve(map, ctx) {
    const declared = ctx.declaredMaps?.();
    if (!declared) return { kind: "sk_msg", map }; // no spec to check it against (probegen list)
    const kind = declared.get(map);
    if (kind === undefined) {
      const sockets = socketMaps(ctx);
      return ctx.fail("unknown-map", `sk_msg programs run for the sockets of a sockmap or sockhash, and this spec has no map '${map}'.${didYouMean(map, sockets.length ? sockets : [...declared.keys()])}`,
        sockets.length ? `socket maps of this spec: ${sockets.join(", ")}` : `declare one: maps: { ${map}: { type: sockmap } }`);
    }
    if (!SOCKET_MAPS.includes(kind)) {
      return ctx.fail("invalid-attach", `sk_msg programs run for the sockets of a sockmap or sockhash, and '${map}' is a ${kind} map`,
        `declare '${map}' with type: sockmap (or sockhash), or name a map that is one`);
    }
    return { kind: "sk_msg", map };
  },
  exclusive: true,
  section: () => "sk_msg",
  title: (p) => `sk_msg for the sockets of ${p.map}`,
  owner: () => "an sk_msg program",
  programName: (p) => `${p.map}_msg`,
  arguments: () => ({ kind: "context", fields: messageFields }),
  returnValue: () => undefined,
  unknownNameHint: (_p, name) => (name.startsWith("msg.") || !name.includes(".") ? `a message has: ${messageFields.map((f) => f.name).join(", ")} (and pid, comm, ktime...)` : undefined),
  context: () => ({ type: "struct sk_msg_md", endian: true }),
  runtime: (p) => ({ kind: "sk_msg", map: p.map }),
  verdicts: () => verdicts,
};
