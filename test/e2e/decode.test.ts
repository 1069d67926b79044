/**
 * Values a person can read, on the running kernel: tcpstates' states, family and addresses by
 * the tracepoint's own names, syscall ids counted by name, errno and open flags of a failing
 * open, kernel symbols, and the wall-clock time of an event.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, connect, type AddressInfo } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { loadTcpstates, State, Family, type TcpStateEvent } from "../../generated/tcpstates.js";
import { rawValue } from "../../src/runtime/index.js";
import { bpfSupport, skipNote, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/decode.test.ts");
const out = "test/.out/e2e-decode";

const spec = `name: decoded
params:
  pid: { type: u32 }
maps:
  syscalls: { type: hash, key: u32, value: u64 }
programs:
  - attach: tracepoint/raw_syscalls/sys_enter
    filter: pid == params.pid
    update:
      - { map: syscalls, key: id, count: true }
  - attach: tracepoint/syscalls/sys_enter_openat
    exit: true
    event: open
    filter: pid == params.pid
    fields:
      - filename
      - { name: flags, from: flags, decode: open_flags }
      - { name: error, from: errno, decode: errno }
      - { name: nr, from: __syscall_nr }
  - attach: tracepoint/syscalls/sys_enter_getppid
    event: tick
    filter: pid == params.pid
    fields:
      - { name: at, from: ktime, decode: wallclock }
      - { name: boot_at, from: boot_ns, decode: wallclock }
      - { name: ns, from: ktime }
      - { name: hint, from: task.fs.pwd.dentry.d_inode.i_write_hint }
  - attach: tracepoint/timer/timer_start
    event: timer
    fields:
      - { name: fn, from: function, type: u64, decode: ksym }
      - { name: addr, from: function, type: u64 }
`;

type Event =
  | { type: "open"; filename: string; flags: string; error: string | number; nr: string | number }
  | { type: "tick"; at: Date; bootAt: Date; ns: bigint; hint: string | number }
  | { type: "timer"; fn: string; addr: bigint };
interface Decoded extends Disposable {
  events: { on(fn: (e: Event) => void): () => void };
  maps: { syscalls: { entries(): Iterable<[string | number, bigint]> } };
}

/** A child that waits for a line, then does `code`, then exits. */
function child(code: string) {
  const proc = spawn(process.execPath, ["-e", `process.stdin.once("data", () => { ${code}; process.exit(0); });`], { stdio: ["pipe", "inherit", "inherit"] });
  return { pid: proc.pid!, run: async () => { const exited = once(proc, "exit"); proc.stdin!.write("go\n"); await exited; } };
}

describe.skipIf(!support.ok)("decoded values on the running kernel", () => {
  let load: (options: { params: { pid: number } }) => Promise<Decoded>;
  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}/decoded.yaml`, spec);
    const [result] = await buildSpecs([`${out}/decoded.yaml`], { outDir: out });
    expect(result!.diagnostics).toEqual([]);
    load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/decoded.ts`)).loadDecoded;
  });

  it("tcpstates: TCP state names, AF_INET, 127.0.0.1 and the ports as a person writes them", async () => {
    using probe = await loadTcpstates();
    const events: TcpStateEvent[] = [];
    probe.events.on((e) => events.push(e));
    const server = createServer((s) => s.on("error", () => {}));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const serverPort = (server.address() as AddressInfo).port;
    const client = connect(serverPort, "127.0.0.1");
    await once(client, "connect");
    const clientPort = client.localPort!;
    client.destroy();
    await new Promise((r) => server.close(r));
    const mine = (e: TcpStateEvent) => e.sport === clientPort && e.dport === serverPort;
    await waitFor(() => events.some((e) => mine(e) && e.newstate === "TCP_CLOSE"), 2000, "the client socket's TCP_CLOSE");

    // The client's life: CLOSE -> SYN_SENT (before connect picks its port) -> ESTABLISHED -> ... -> CLOSE.
    expect(events.some((e) => e.dport === serverPort && e.oldstate === "TCP_CLOSE" && e.newstate === "TCP_SYN_SENT")).toBe(true);
    const client1 = events.filter(mine);
    expect(client1[0]).toMatchObject({ oldstate: "TCP_SYN_SENT", newstate: "TCP_ESTABLISHED" });
    expect(client1.at(-1)!.newstate).toBe("TCP_CLOSE");
    for (const e of client1) {
      expect(e).toMatchObject({ family: "AF_INET", saddr: "127.0.0.1", daddr: "127.0.0.1", saddrV6: "::ffff:127.0.0.1", sport: clientPort, dport: serverPort });
    }
    // The numbers stay reachable: the exported tables, both ways.
    expect(State.TCP_ESTABLISHED).toBe(1);
    expect(rawValue(State, client1[0]!.newstate)).toBe(1);
    expect(Family.AF_INET).toBe(2);
    // The server's side, seen from its end.
    expect(events.some((e) => e.sport === serverPort && e.dport === clientPort && e.newstate === "TCP_ESTABLISHED")).toBe(true);
  });

  it("a hash map counting raw_syscalls ids has the child's syscalls by name", async () => {
    const c = child(`const fs = require("node:fs"); for (let i = 0; i < 5; i++) { const fd = fs.openSync("/dev/null", "r"); fs.closeSync(fd); }`);
    using probe = await load({ params: { pid: c.pid } });
    await c.run();
    const counts = new Map([...probe.maps.syscalls.entries()]);
    expect(counts.get("openat")).toBeGreaterThanOrEqual(5n);
    expect(counts.get("close")).toBeGreaterThanOrEqual(5n);
    expect(counts.get("exit_group")).toBe(1n);
    // Every key is a name: the child makes no syscall the kernel headers lack.
    expect([...counts.keys()].filter((k) => typeof k === "number")).toEqual([]);
  });

  it("a failing open: ENOENT, its flags as O_ names, and its __syscall_nr as openat", async () => {
    const c = child(`try { require("node:fs").openSync("/nonexistent/probegen-decode", "r"); } catch {}`);
    using probe = await load({ params: { pid: c.pid } });
    const events: Event[] = [];
    probe.events.on((e) => events.push(e));
    await c.run();
    const isMine = (e: Event): e is Event & { type: "open" } => e.type === "open" && e.filename === "/nonexistent/probegen-decode";
    await waitFor(() => events.some(isMine), 2000, "the child's failing openat");
    expect(events.find(isMine)).toMatchObject({ error: "ENOENT", flags: "O_RDONLY|O_CLOEXEC", nr: "openat" });
  });

  it("wallclock: an event's Date is the moment it happened, within a few ms", async () => {
    // This process's own getppid (process.ppid asks the kernel each time), between two Date.now().
    using probe = await load({ params: { pid: process.pid } });
    const events: Event[] = [];
    probe.events.on((e) => events.push(e));
    const before = Date.now();
    void process.ppid;
    const after = Date.now();
    await waitFor(() => events.some((e) => e.type === "tick"), 2000, "this process's getppid");
    const tick = events.find((e): e is Event & { type: "tick" } => e.type === "tick")!;
    expect(tick.at).toBeInstanceOf(Date);
    expect(tick.at.getTime()).toBeGreaterThanOrEqual(before - 2);
    expect(tick.at.getTime()).toBeLessThanOrEqual(after + 2);
    // BOOTTIME gives the same wall time (CLOCK_BOOTTIME's offset includes any suspend).
    expect(Math.abs(tick.bootAt.getTime() - tick.at.getTime())).toBeLessThanOrEqual(2);
  });

  it("an enum-typed CO-RE member reads as the enum's name (BTF), its numbers exported", async () => {
    using probe = await load({ params: { pid: process.pid } });
    const events: Event[] = [];
    probe.events.on((e) => events.push(e));
    void process.ppid;
    await waitFor(() => events.some((e) => e.type === "tick"), 2000, "this process's getppid");
    // The inode of this process's working directory: no write-lifetime hint was ever set on it.
    expect(events.find((e): e is Event & { type: "tick" } => e.type === "tick")!.hint).toBe("WRITE_LIFE_NOT_SET");
    const { RwHint } = await import(/* @vite-ignore */ `${process.cwd()}/${out}/decoded.ts`);
    expect(RwHint.WRITE_LIFE_NOT_SET).toBe(0);
    expect(RwHint.WRITE_LIFE_EXTREME).toBeGreaterThan(0);
  });

  it("ksym: a timer's callback address is the kallsyms function of that address", async () => {
    using probe = await load({ params: { pid: 0 } });
    const events: Event[] = [];
    probe.events.on((e) => events.push(e));
    await waitFor(() => events.some((e) => e.type === "timer"), 3000, "a timer_start event");
    const kallsyms = new Map<string, bigint>();
    for (const line of readFileSync("/proc/kallsyms", "utf8").split("\n")) {
      const [addr, , name] = line.split(/\s+/);
      if (name && addr && !kallsyms.has(name)) kallsyms.set(name, BigInt(`0x${addr}`));
    }
    const timer = events.find((e): e is Event & { type: "timer" } => e.type === "timer")!;
    // A function pointer: the symbol itself, no offset.
    const [name, offset] = timer.fn.split("+");
    expect(kallsyms.get(name!)! + (offset ? BigInt(offset) : 0n)).toBe(timer.addr);
  });
});
