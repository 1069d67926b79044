/**
 * XDP on the running kernel: a private network namespace with a veth pair, the program on the
 * test's end; UDP datagrams and TCP connections sent from inside the namespace are counted by
 * destination port (and source address) exactly as sent, the total matches the interface's rx
 * packets (`ip -s link`), a conditional drop on one UDP port drops exactly those datagrams, and
 * IPv6 datagrams are read through the IPv6 header (ports, the source address as text).
 */
import { execFileSync, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/xdp.test.ts");
const out = "test/.out/e2e";

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
const hasIp = (() => {
  try {
    ip("-V");
    return true;
  } catch {
    return false;
  }
})();
if (!hasIp) console.log("e2e/xdp.test.ts: skipped: no 'ip' command (iproute2)");

// Names of this run's namespace and links (an interface name has at most 15 characters).
const ns = `pgxdp-${process.pid}`;
const hostIf = `pgxh${process.pid}`;
const nsIf = `pgxn${process.pid}`;
const subnet = `10.231.${process.pid % 250}`;
const hostAddr = `${subnet}.1`;
const nsAddr = `${subnet}.2`;
const hostAddr6 = `fd00:231:${(process.pid % 65536).toString(16)}::1`;
const nsAddr6 = `fd00:231:${(process.pid % 65536).toString(16)}::2`;
const UDP_SENT: Record<number, number> = { 40001: 5, 40002: 7, 40009: 4 };
const DROPPED = 40009;
const TCP_PORT = 40080;
const TCP_CONNECTIONS = 3;

interface Counter<K> { get(k: K): bigint | undefined; entries(): IterableIterator<[K, bigint]> }
type Probe = Disposable & {
  maps: { packets: { get(): bigint }; udpPorts: Counter<number>; tcpPorts: Counter<number>; tcpSyns: Counter<number>; sources: Counter<string>; sources6: Counter<string> };
  object: { attachments(): Array<{ program: string; target: string; on?: string; mode: string }> };
};
let load: (options: { interface: string; params?: { dropPort: number } }) => Promise<Probe>;

function cleanUp(): void {
  for (const args of [["netns", "del", ns], ["link", "del", hostIf]]) {
    try {
      ip(...args);
    } catch {
      // not there (any more)
    }
  }
}

beforeAll(async () => {
  if (!support.ok || !hasIp) return;
  mkdirSync(out, { recursive: true });
  const [result] = await buildSpecs(["test/fixtures/e2e/xdp.yaml"], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/xdp_count.ts`)).loadXdpCount;
  cleanUp();
  ip("netns", "add", ns);
  ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", ns);
  // No IPv6 on the pair: neighbour discovery would add packets the test did not send.
  execFileSync("sysctl", ["-qw", `net.ipv6.conf.${hostIf}.disable_ipv6=1`]);
  ip("netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${nsIf}.disable_ipv6=1`);
  ip("addr", "add", `${hostAddr}/30`, "dev", hostIf);
  ip("link", "set", hostIf, "up");
  ip("-n", ns, "addr", "add", `${nsAddr}/30`, "dev", nsIf);
  ip("-n", ns, "link", "set", nsIf, "up");
  ip("-n", ns, "link", "set", "lo", "up");
}, 60_000);

afterAll(cleanUp);

/** Sends the datagrams of `udp` (port -> count) and `tcp` connections (each writes a byte) from inside the namespace. */
function sendFromNamespace(udp: Record<number, number>, tcp: number, to = hostAddr): Promise<void> {
  const script = `
    const dgram = require("node:dgram"), net = require("node:net");
    const [host, udp, tcpPort, tcp] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
    (async () => {
      const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      for (const [port, n] of Object.entries(udp))
        for (let i = 0; i < n; i++) await new Promise((ok, ko) => s.send("x", Number(port), host, (e) => (e ? ko(e) : ok())));
      s.close();
      for (let i = 0; i < tcp; i++)
        await new Promise((ok, ko) => { const c = net.connect(tcpPort, host, () => c.end("x")); c.on("close", ok); c.on("error", ko); });
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script, to, JSON.stringify(udp), String(TCP_PORT), String(tcp)], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sender exited with ${code}`))));
  });
}

/** Receivers on the test's end: datagrams per port, and TCP connections that closed. */
async function receivers(address = hostAddr): Promise<{ udp: Record<number, number>; tcp: () => number; close(): Promise<void> }> {
  const udp: Record<number, number> = {};
  const sockets: Socket[] = [];
  for (const port of Object.keys(UDP_SENT).map(Number)) {
    udp[port] = 0;
    const s = createSocket(address.includes(":") ? "udp6" : "udp4");
    s.on("message", () => udp[port]!++);
    await new Promise<void>((ok) => s.bind(port, address, ok));
    sockets.push(s);
  }
  let closed = 0;
  const server: Server = createServer((c) => {
    c.resume();
    c.on("end", () => c.end());
    c.on("close", () => closed++);
  });
  await new Promise<void>((ok) => server.listen(TCP_PORT, address, ok));
  return {
    udp,
    tcp: () => closed,
    close: async () => {
      sockets.forEach((s) => s.close());
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function rxPackets(): bigint {
  const [link] = JSON.parse(ip("-j", "-s", "link", "show", "dev", hostIf)) as Array<{ stats64: { rx: { packets: number } } }>;
  return BigInt(link!.stats64.rx.packets);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!support.ok || !hasIp)("xdp on a veth pair in a private namespace", () => {
  it("counts UDP datagrams and TCP connections by destination port, by source address, and every packet the interface received", async () => {
    const rx = await receivers();
    try {
      using probe = await load({ interface: hostIf });
      const [attached] = probe.object.attachments();
      expect(attached).toMatchObject({ program: "xdp_prog", target: "xdp", on: hostIf });
      expect(["driver", "generic"]).toContain(attached!.mode);
      console.log(`e2e/xdp.test.ts: xdp attached to a veth in ${attached!.mode} mode`);
      const rxBefore = rxPackets();
      const before = probe.maps.packets.get();
      await sendFromNamespace(UDP_SENT, TCP_CONNECTIONS);
      await waitFor(() => Object.entries(UDP_SENT).every(([p, n]) => rx.udp[Number(p)] === n) && rx.tcp() === TCP_CONNECTIONS, 5000, "every datagram and connection");
      await sleep(200); // the last ACKs
      for (const [port, n] of Object.entries(UDP_SENT)) expect(probe.maps.udpPorts.get(Number(port))).toBe(BigInt(n));
      expect([...probe.maps.udpPorts.entries()].length).toBe(Object.keys(UDP_SENT).length);
      expect(probe.maps.tcpSyns.get(TCP_PORT)).toBe(BigInt(TCP_CONNECTIONS));
      // SYN, ACK, data, FIN at least (ACKs may merge), per connection, all to the server's port.
      expect(probe.maps.tcpPorts.get(TCP_PORT)! >= BigInt(4 * TCP_CONNECTIONS)).toBe(true);
      expect([...probe.maps.tcpPorts.entries()].map(([port]) => port)).toEqual([TCP_PORT]);
      const total = Object.values(UDP_SENT).reduce((a, b) => a + b, 0);
      expect([...probe.maps.sources.entries()]).toEqual([[nsAddr, BigInt(total)]]);
      // Every packet the interface received (the ARP exchange and TCP's packets included) went through the program.
      expect(probe.maps.packets.get() - before).toBe(rxPackets() - rxBefore);
    } finally {
      await rx.close();
    }
  }, 30_000);

  it("a conditional drop on one UDP port drops exactly its datagrams; the others arrive, and all are counted", async () => {
    const rx = await receivers();
    try {
      using probe = await load({ interface: hostIf, params: { dropPort: DROPPED } });
      await sendFromNamespace(UDP_SENT, 0);
      const kept = Object.keys(UDP_SENT).map(Number).filter((p) => p !== DROPPED);
      await waitFor(() => kept.every((p) => rx.udp[p] === UDP_SENT[p]), 5000, "the datagrams not dropped");
      await sleep(300);
      expect(rx.udp[DROPPED]).toBe(0);
      // Counted before the verdict: the dropped ones too.
      for (const [port, n] of Object.entries(UDP_SENT)) expect(probe.maps.udpPorts.get(Number(port))).toBe(BigInt(n));
      expect(ip("link", "show", "dev", hostIf)).toMatch(/\bxdp\b/);
    } finally {
      await rx.close();
    }
    // Closed (by `using`): the link is gone, and the interface has no XDP program left.
    expect(ip("link", "show", "dev", hostIf)).not.toMatch(/\bxdp\b/);
  }, 30_000);

  it("reads IPv6 packets: ports in host order, the source address as text", async () => {
    // IPv6 on the pair from here on (its neighbour discovery adds packets: nothing below compares with rx).
    execFileSync("sysctl", ["-qw", `net.ipv6.conf.${hostIf}.disable_ipv6=0`]);
    ip("netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${nsIf}.disable_ipv6=0`);
    ip("addr", "add", `${hostAddr6}/64`, "dev", hostIf, "nodad");
    ip("-n", ns, "addr", "add", `${nsAddr6}/64`, "dev", nsIf, "nodad");
    const rx = await receivers(hostAddr6);
    try {
      using probe = await load({ interface: hostIf });
      await sendFromNamespace(UDP_SENT, 0, hostAddr6);
      await waitFor(() => Object.entries(UDP_SENT).every(([p, n]) => rx.udp[Number(p)] === n), 5000, "every IPv6 datagram");
      for (const [port, n] of Object.entries(UDP_SENT)) expect(probe.maps.udpPorts.get(Number(port))).toBe(BigInt(n));
      const total = Object.values(UDP_SENT).reduce((a, b) => a + b, 0);
      expect([...probe.maps.sources6.entries()]).toEqual([[nsAddr6, BigInt(total)]]);
      expect([...probe.maps.sources.entries()]).toEqual([]);
    } finally {
      await rx.close();
    }
  }, 30_000);

  it("loading without an interface, or with one that does not exist, says which there are", async () => {
    await expect(load({} as { interface: string })).rejects.toThrow(/attaches to a network interface: name it with \{ interface: "eth0" \}/);
    await expect(load({ interface: "pgnosuch0" })).rejects.toThrow(new RegExp(`there is no network interface 'pgnosuch0' \\(interfaces: .*${hostIf}`));
  });
});
