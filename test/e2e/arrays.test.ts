/**
 * Array fields are copied by value: the addresses of a loopback TCP connection (u8[4], u8[16])
 * and the six raw arguments of a syscall (u64[6]) reach user space as the bytes and numbers the
 * kernel recorded, never as the address of the tracepoint record.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/arrays.test.ts");
const out = "test/.out/e2e";

// test/fixtures/e2e/tcpbytes.yaml: tcpstates with `decode: none` (e2e/decode.test.ts reads the names).
type TcpStateEvent = { family: number; sport: number; dport: number; saddr: Uint8Array; daddr: Uint8Array; saddrV6: Uint8Array; daddrV6: Uint8Array; oldstate: number; newstate: number };
type Tcpbytes = Disposable & { events: { on(fn: (e: TcpStateEvent) => void): void } };
let loadTcpstates: () => Promise<Tcpbytes>;
const TCP_ESTABLISHED = 1;
const AF_INET = 2;
const AF_INET6 = 10;
// pread64(2): x86-64 and arm64 numbers.
const PREAD64: Record<string, bigint> = { x64: 17n, arm64: 67n };

/** A server on `host`, one client connection to it; resolves once both ends are established. */
async function loopbackConnection(host: string): Promise<{ server: Server; client: Socket; serverPort: number; clientPort: number }> {
  const server = createServer((s) => s.on("error", () => {}));
  server.listen(0, host);
  await once(server, "listening");
  const serverPort = (server.address() as AddressInfo).port;
  const accepted = once(server, "connection");
  const client = connect(serverPort, host);
  await once(client, "connect");
  await accepted;
  return { server, client, serverPort, clientPort: client.localPort! };
}

async function close({ server, client }: { server: Server; client: Socket }): Promise<void> {
  client.destroy();
  await new Promise((r) => server.close(r));
}

describe.skipIf(!support.ok)("arrays captured by value on the running kernel", () => {
  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    const [result] = await buildSpecs(["test/fixtures/e2e/tcpbytes.yaml"], { outDir: out });
    expect(result!.diagnostics).toEqual([]);
    loadTcpstates = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/tcpbytes.ts`)).loadTcpbytes;
  });

  it("inet_sock_set_state: a loopback IPv4 connection's addresses (u8[4], mapped u8[16]) and ports", async () => {
    using probe = await loadTcpstates();
    const events: TcpStateEvent[] = [];
    probe.events.on((ev) => events.push(ev));
    const conn = await loopbackConnection("127.0.0.1");
    const { serverPort, clientPort } = conn;
    // The client's side reaching ESTABLISHED: local = client port, remote = server port.
    const isClient = (e: TcpStateEvent) => e.newstate === TCP_ESTABLISHED && e.sport === clientPort && e.dport === serverPort;
    const isServer = (e: TcpStateEvent) => e.newstate === TCP_ESTABLISHED && e.sport === serverPort && e.dport === clientPort;
    await waitFor(() => events.some(isClient) && events.some(isServer), 2000, "both ends' ESTABLISHED events");
    await close(conn);

    const loopback = Uint8Array.of(127, 0, 0, 1);
    const mapped = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1); // ::ffff:127.0.0.1
    for (const e of [events.find(isClient)!, events.find(isServer)!]) {
      expect(e.family).toBe(AF_INET);
      expect(e.saddr).toBeInstanceOf(Uint8Array);
      expect(e.saddr).toEqual(loopback);
      expect(e.daddr).toEqual(loopback);
      expect(e.saddrV6).toEqual(mapped);
      expect(e.daddrV6).toEqual(mapped);
    }
    // Copies, not views into the reader's reused batch buffer.
    const first = events.find(isClient)!;
    expect(first.saddr.buffer).not.toBe(first.daddr.buffer);
    expect(first.saddr.byteLength).toBe(first.saddr.buffer.byteLength);
  });

  it("inet_sock_set_state: a loopback IPv6 connection's addresses (u8[16])", async (ctx) => {
    using probe = await loadTcpstates();
    const events: TcpStateEvent[] = [];
    probe.events.on((ev) => events.push(ev));
    let conn: Awaited<ReturnType<typeof loopbackConnection>>;
    try {
      conn = await loopbackConnection("::1");
    } catch (err) {
      console.warn(`[e2e/arrays.test.ts] SKIPPING IPv6: no ::1 on this machine (${(err as Error).message})`);
      return ctx.skip();
    }
    const { serverPort, clientPort } = conn;
    const isClient = (e: TcpStateEvent) => e.newstate === TCP_ESTABLISHED && e.sport === clientPort && e.dport === serverPort;
    await waitFor(() => events.some(isClient), 2000, "the client's ESTABLISHED event");
    await close(conn);
    const e = events.find(isClient)!;
    const ipv6Loopback = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1); // ::1
    expect(e.family).toBe(AF_INET6);
    expect(e.saddrV6).toEqual(ipv6Loopback);
    expect(e.daddrV6).toEqual(ipv6Loopback);
  });

  describe("raw_syscalls/sys_enter", () => {
    // `id` reads as the syscall's name (decode.ts: the kernel headers' numbers), the number where it has none.
    type EnterEvent = { type: "enter"; pid: number; id: string | number; args: bigint[]; firstTwo: bigint[]; auxv: bigint[] };
    type CallEvent = { type: "call"; id: string | number; args: bigint[]; ret: bigint };
    type SysargsEvent = EnterEvent | CallEvent;
    type Sysargs = Disposable & { events: { on(fn: (e: SysargsEvent) => void): void }; maps: { argsByNr: { get(nr: string | number): bigint[] | undefined } } };
    let load: (options: { params: { pid: number } }) => Promise<Sysargs>;
    let Syscall: Record<string, number>;
    beforeAll(async () => {
      mkdirSync(out, { recursive: true });
      const [result] = await buildSpecs(["test/fixtures/e2e/sysargs.yaml"], { outDir: out });
      expect(result!.diagnostics).toEqual([]);
      ({ loadSysargs: load, Syscall } = await import(/* @vite-ignore */ `${process.cwd()}/${out}/sysargs.ts`));
    });

    it.skipIf(!(process.arch in PREAD64))("args (u64[6]) are the arguments a child passed to pread64", async () => {
      // The child opens /dev/zero, says its fd, and on a line from us reads 7 bytes at offset 12345.
      const child = spawn(process.execPath, ["-e", `
        const fs = require("node:fs");
        const fd = fs.openSync("/dev/zero", "r");
        process.stdout.write(fd + "\\n");
        process.stdin.once("data", () => { fs.readSync(fd, Buffer.alloc(7), 0, 7, 12345); process.exit(0); });
      `], { stdio: ["pipe", "pipe", "inherit"] });
      const [line] = (await once(child.stdout!, "data")) as [Buffer];
      const fd = BigInt(line.toString().trim());
      // The child's auxiliary vector as the kernel keeps it (mm->saved_auxv): pairs of u64.
      const auxv = readFileSync(`/proc/${child.pid}/auxv`);
      const auxvHead = [0, 1, 2, 3].map((i) => auxv.readBigUInt64LE(i * 8));

      using probe = await load({ params: { pid: child.pid! } });
      const events: SysargsEvent[] = [];
      probe.events.on((e) => events.push(e));
      const exited = once(child, "exit");
      child.stdin!.write("go\n");
      await exited;
      // The name table has the architecture's own number for it.
      expect(BigInt(Syscall.pread64!)).toBe(PREAD64[process.arch]);
      const isPread = (e: SysargsEvent) => e.id === "pread64" && e.args[0] === fd;
      await waitFor(() => events.filter(isPread).length === 2, 2000, "the child's pread64, at its entry and its exit");

      const pread = events.find((e): e is EnterEvent => e.type === "enter" && isPread(e))!;
      expect(pread.args).toHaveLength(6);
      expect(pread.args[0]).toBe(fd);
      expect(pread.args[1]).not.toBe(0n); // the buffer's address in the child: an argument it passed
      expect(pread.args[2]).toBe(7n);
      expect(pread.args[3]).toBe(12345n);
      // `type: u64[2]` reads the first two elements of the same array.
      expect(pread.firstTwo).toEqual(pread.args.slice(0, 2));
      // A CO-RE path ending in an array (task.mm.saved_auxv, unsigned long[N]) read as its first four u64.
      expect(pread.auxv).toEqual(auxvHead);
      // The map holds the same six values (the child made one pread64): its key, filled from `id`, reads as a name too.
      expect(probe.maps.argsByNr.get("pread64")).toEqual(pread.args);
      expect(probe.maps.argsByNr.get(Number(PREAD64[process.arch]))).toEqual(pread.args);
      // Only the child's syscalls passed the filter.
      expect(events.every((e) => e.type === "call" || e.pid === child.pid)).toBe(true);
      // At the exit, the arguments come back from the entry's stash, whole; pread read 7 zeros.
      const call = events.find((e): e is CallEvent => e.type === "call" && isPread(e))!;
      expect(call.args).toEqual(pread.args);
      expect(call.ret).toBe(7n);
    });
  });
});
