/**
 * A socket filter on a UDP socket on loopback: it sees exactly the datagrams sent to that
 * socket (none sent to another one beside it), keeps them all by default, and stops seeing
 * them once detached.
 */
import { createSocket, type Socket } from "node:dgram";
import { mkdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/socket-filter.test.ts");
const out = "test/.out/socket-filter";

interface SocketAttachment { detach(): void; readonly fd: number }
interface SocketProbe extends Disposable {
  maps: { packets: { get(): bigint }; bySource: Iterable<[{ addr: string; port: number }, bigint]> };
  attachSocket(socket: Socket | number): SocketAttachment;
  object: { attachments(): unknown[] };
}
let load: (options?: { params?: { dropFrom: number } }) => Promise<SocketProbe>;
let generated: { c: string; ts: string };

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  const [result] = await buildSpecs(["test/fixtures/e2e/socket-count.yaml"], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  const text = (suffix: string) => Buffer.from(result!.files.find((f) => f.path.endsWith(suffix))!.contents).toString();
  generated = { c: text(".bpf.c"), ts: text(".ts") };
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/socketcount.ts`)).loadSocketcount;
});

/** A UDP socket bound on loopback that counts what it receives. */
async function receiver(): Promise<{ socket: Socket; port: number; received: () => number; messages: string[] }> {
  const socket = createSocket("udp4");
  const messages: string[] = [];
  socket.on("message", (m) => messages.push(m.toString()));
  await new Promise<void>((ok) => socket.bind(0, "127.0.0.1", ok));
  return { socket, port: socket.address().port, received: () => messages.length, messages };
}

/** Sends `count` datagrams to `port`; returns the port they came from. */
async function send(port: number, count: number): Promise<number> {
  const udp = createSocket("udp4");
  for (let i = 0; i < count; i++) await new Promise<void>((ok, fail) => udp.send(`datagram ${i}`, port, "127.0.0.1", (e) => (e ? fail(e) : ok())));
  const from = udp.address().port;
  udp.close();
  return from;
}

describe("socket filters", () => {
  it("are SEC(\"socket\") programs that keep the whole packet by default, attached from TS rather than at load", () => {
    expect(generated.c).toContain('SEC("socket")\nint socket_filter(struct __sk_buff *ctx)');
    expect(generated.c).toContain("return -1 /* keep the whole packet */;");
    expect(generated.ts).toContain("attachSocket(socket: SocketLike): SocketAttachment;");
  });
});

describe.skipIf(!support.ok)("a socket filter on a UDP socket on loopback", () => {
  it("sees exactly the datagrams sent to its socket, and lets them all through", async () => {
    using probe = await load();
    expect(probe.object.attachments()).toEqual([]);
    const filtered = await receiver();
    const other = await receiver();
    try {
      probe.attachSocket(filtered.socket);
      const first = await send(filtered.port, 12);
      const second = await send(filtered.port, 5);
      await send(other.port, 5);
      await waitFor(() => filtered.received() === 17 && other.received() === 5, 2000, "the datagrams");
      expect(Number(probe.maps.packets.get())).toBe(17);
      expect(filtered.messages.slice(0, 3)).toEqual(["datagram 0", "datagram 1", "datagram 2"]); // kept whole, not trimmed
      // Read from each packet's own headers (network-relative loads): who sent it.
      const bySource = Object.fromEntries([...probe.maps.bySource].map(([k, n]) => [`${k.addr}:${k.port}`, Number(n)]));
      expect(bySource).toEqual({ [`127.0.0.1:${first}`]: 12, [`127.0.0.1:${second}`]: 5 });
    } finally {
      filtered.socket.close();
      other.socket.close();
    }
  });

  it("stops seeing a socket's datagrams once detached, and takes a raw fd", async () => {
    using probe = await load();
    const r = await receiver();
    try {
      const fd = (probe.attachSocket(r.socket) as SocketAttachment).fd;
      await send(r.port, 3);
      await waitFor(() => r.received() === 3, 2000, "the first datagrams");
      probe.attachSocket(r.socket).detach();
      await send(r.port, 4);
      await waitFor(() => r.received() === 7, 2000, "the datagrams after detach");
      expect(Number(probe.maps.packets.get())).toBe(3);
      probe.attachSocket(fd);
      await send(r.port, 2);
      await waitFor(() => r.received() === 9, 2000, "the datagrams after attaching by fd");
      expect(Number(probe.maps.packets.get())).toBe(5);
    } finally {
      r.socket.close();
    }
  });

  it("a drop keeps the datagrams of one source port from the socket; the others arrive", async () => {
    const r = await receiver();
    const dropped = createSocket("udp4");
    await new Promise<void>((ok) => dropped.bind(0, "127.0.0.1", ok));
    try {
      using probe = await load({ params: { dropFrom: dropped.address().port } });
      probe.attachSocket(r.socket);
      for (let i = 0; i < 4; i++) await new Promise<void>((ok, fail) => dropped.send("dropped", r.port, "127.0.0.1", (e) => (e ? fail(e) : ok())));
      await send(r.port, 6);
      await waitFor(() => r.received() === 6, 2000, "the datagrams kept");
      await new Promise((ok) => setTimeout(ok, 100));
      expect(r.received()).toBe(6);
      expect(Number(probe.maps.packets.get())).toBe(10); // counted before the verdict
    } finally {
      r.socket.close();
      dropped.close();
    }
  });

  it("says when a socket has no fd yet", async () => {
    using probe = await load();
    const unbound = createSocket("udp4");
    expect(() => probe.attachSocket(unbound)).toThrow(/the socket has no file descriptor \(a dgram socket gets one when it is bound/);
    unbound.close();
  });
});
