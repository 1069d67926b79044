/** The file descriptor of what `probe.attachSocket()` takes: a node socket or a raw fd. */
import type { Socket as DgramSocket } from "node:dgram";
import type { Server, Socket as NetSocket } from "node:net";

/** A socket a filter attaches to: a net.Socket or net.Server, a dgram.Socket, or a socket's fd. */
export type SocketLike = NetSocket | Server | DgramSocket | number;

/** Node's handle of a socket: net keeps it as `_handle`, dgram in its state (`_handle` there is deprecated). */
function handleOf(socket: object): { fd?: unknown } | undefined {
  if ("_handle" in socket && !isDgram(socket)) return (socket as { _handle?: { fd?: unknown } })._handle ?? undefined;
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol");
  return state ? (socket as Record<symbol, { handle?: { fd?: unknown } }>)[state]?.handle : undefined;
}

function isDgram(socket: object): boolean {
  return typeof (socket as { send?: unknown }).send === "function" && typeof (socket as { setBroadcast?: unknown }).setBroadcast === "function";
}

/**
 * The socket's fd; throws a TypeError saying what to do when it has none (yet, or any more).
 * `what` begins the message: the operation that needed it ("attachSocket", "cannot add a socket to map 'socks'").
 */
export function socketFd(socket: SocketLike, what = "attachSocket"): number {
  if (typeof socket === "number") {
    if (!Number.isInteger(socket) || socket < 0) throw new TypeError(`${what}: a file descriptor is a non-negative integer, got ${socket}`);
    return socket;
  }
  if (typeof socket !== "object" || socket === null) throw new TypeError(`${what}: pass a net.Socket, net.Server, dgram.Socket or a socket's fd`);
  const fd = handleOf(socket)?.fd;
  if (typeof fd === "number" && fd >= 0) return fd;
  throw new TypeError(
    `${what}: the socket has no file descriptor ` +
      (isDgram(socket) ? "(a dgram socket gets one when it is bound: attach in bind()'s callback or on 'listening')" : "(yet, or any more: attach once it is connected or listening, before it is closed)"),
  );
}
