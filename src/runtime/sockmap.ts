// SockMap: a sockmap or sockhash from TypeScript. Sockets go in by their file descriptor; the
// kernel keeps the socket (not the fd), and shows user space each entry as the socket's cookie.
import { BpfError } from "./errors.js";
import type { TypedMap } from "./map.js";
import { socketFd, type SocketLike } from "./socket.js";

/** Why the kernel refused a socket, in words (errno names otherwise say little here). */
const REFUSALS: Record<string, string> = {
  ENOTSOCK: "is not a socket",
  EBADF: "is not an open file descriptor",
  EOPNOTSUPP: "is a socket the map cannot hold: a sockmap takes TCP sockets that are connected or listening (and UDP, unix and vsock ones)",
  EINVAL: "is a socket the map cannot hold: a sockmap takes TCP sockets that are connected or listening (and UDP, unix and vsock ones)",
};

/**
 * The sockets an sk_msg program runs for. Keys are the map's (a u32 index below max_entries for
 * a sockmap); values are sockets going in and socket cookies (bigint, SO_COOKIE) coming out.
 */
export class SockMap<K> {
  constructor(readonly map: TypedMap<K, bigint>) {}

  /**
   * Puts `socket` in the map at `key` (replacing what was there): from now on its messages go
   * through the map's sk_msg programs. The kernel takes TCP sockets that are connected (or
   * listening); anything else fails with EOPNOTSUPP. Closing the socket removes it.
   */
  add(key: K, socket: SocketLike): void {
    const fd = socketFd(socket, `cannot add a socket to map '${this.map.raw.name}'`);
    try {
      this.map.set(key, BigInt(fd));
    } catch (err) {
      const why = err instanceof BpfError && REFUSALS[err.code];
      if (!why) throw err;
      throw new BpfError({ operation: err.operation, errno: err.errno, map: this.map.raw.name, cause: err,
        detail: `cannot add ${typeof socket === "number" ? `file descriptor ${fd}` : `the socket (fd ${fd})`} to map '${this.map.raw.name}': it ${why}` });
    }
  }

  /** Takes the socket at `key` out of the map (the socket stays open); false when there was none. */
  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** The cookie of the socket at `key` (what `getsockopt(SO_COOKIE)` gives), or undefined. */
  cookie(key: K): bigint | undefined {
    return this.map.get(key);
  }

  /** The keys that hold a socket. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
