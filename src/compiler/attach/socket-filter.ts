/**
 * socket: a socket filter (BPF_PROG_TYPE_SOCKET_FILTER) on the sockets the app hands the loaded
 * probe (`probe.attachSocket(socket)`), seeing each packet the socket receives from its network
 * header. Nothing is attached at load.
 */
import type { AttachKind, Verdicts } from "./kind.js";
import { skbContext } from "./skb.js";

export interface SocketPoint {
  kind: "socket";
}

/**
 * A socket filter returns how many bytes of the packet the socket keeps: 0 drops it, and a
 * length beyond the packet's (-1 is 0xffffffff) keeps all of it untrimmed.
 */
const verdicts: Verdicts = {
  default: "pass",
  actions: {
    pass: { c: "-1 /* keep the whole packet */", drops: false },
    drop: { c: "0", drops: true },
  },
};

export const socketFilter: AttachKind<SocketPoint> = {
  prefixes: ["socket"],
  targetNoun: "socket filter",
  candidates: () => [],
  resolve(target, ctx) {
    if (target !== "") return ctx.fail("invalid-attach", `'socket/${target}': a socket filter has no target`, "write attach: socket, and attach it to a socket from TS with probe.attachSocket(socket)");
    return { kind: "socket" };
  },
  section: () => "socket",
  title: () => "socket filter",
  owner: () => "a socket filter",
  programName: () => "socket_filter",
  arguments: () => ({ kind: "none" }),
  returnValue: () => undefined,
  context: () => skbContext,
  runtime: () => ({ kind: "socket" }),
  verdicts: () => verdicts,
  packet: () => ({ kind: "network-relative" }),
};
