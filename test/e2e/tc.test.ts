/**
 * tc/ingress and tc/egress on one end of a veth pair whose other end is in a private network
 * namespace: a child inside it sends UDP datagrams and TCP connection attempts across, this
 * process sends datagrams back, and the programs' counts (in total, and per destination port
 * from the packets' own headers) match what was sent and the kernel's own counters of that
 * interface (ip -s link), attached as tcx links (this kernel has them) and as clsact filters.
 */
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { SEND_SCRIPT, type SendPlan } from "../helpers/send-udp.js";
import { createVeth, vethProblem, type Veth } from "../helpers/veth.js";
import { bpfSupport, skipNote, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/tc.test.ts");
const noVeth = support.ok ? vethProblem() : undefined;
if (noVeth) console.warn(`[e2e/tc.test.ts] SKIPPING: ${noVeth}`);
const out = "test/.out/tc";

interface Counter { get(): bigint }
interface TcProbe extends Disposable {
  maps: { received: Counter; sent: Counter } & Record<"udpIn" | "udpOut" | "tcpSynsIn", Iterable<[number, bigint]>>;
  object: {
    attachments(): Array<{ program: string; target: string; on?: string; mode: string }>;
    programInfo(): Array<{ name: string; id: number }>;
  };
}
type Load = (options: { interface: string; tcMode?: "auto" | "tcx" | "clsact"; params?: { dropPort: number } }) => Promise<TcProbe>;
let load: Load;
let generated: { c: string; ts: string };
let veth: Veth | undefined;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  const [result] = await buildSpecs(["test/fixtures/e2e/tc-count.yaml"], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  const text = (suffix: string) => Buffer.from(result!.files.find((f) => f.path.endsWith(suffix))!.contents).toString();
  generated = { c: text(".bpf.c"), ts: text(".ts") };
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/tccount.ts`)).loadTccount;
  if (support.ok && !noVeth) veth = createVeth("tc", 77);
});

afterAll(() => veth?.remove());

/** From inside the namespace to this end: what tc/ingress sees. */
function sendIn(plan: SendPlan): void {
  veth!.exec(process.execPath, ["-e", SEND_SCRIPT, veth!.outerAddr, JSON.stringify(plan)]);
}

/** From here into the namespace: what tc/egress sees. */
async function sendOut(port: number, count: number): Promise<void> {
  const udp = createSocket("udp4");
  for (let i = 0; i < count; i++) await new Promise<void>((ok, fail) => udp.send("probegen", port, veth!.innerAddr, (e) => (e ? fail(e) : ok())));
  udp.close();
}

/** Counts while `traffic` runs, beside the kernel's counters of the interface over the same time. */
async function measure(probe: TcProbe, traffic: () => Promise<void>) {
  const before = await totals(probe);
  await traffic();
  await new Promise((r) => setTimeout(r, 100)); // replies (ARP, ICMP) leave after the sender exits
  const after = await totals(probe);
  return {
    received: after.received - before.received,
    sent: after.sent - before.sent,
    udpIn: byPort(probe.maps.udpIn),
    udpOut: byPort(probe.maps.udpOut),
    tcpSynsIn: byPort(probe.maps.tcpSynsIn),
    rxPackets: after.rxPackets - before.rxPackets,
    txPackets: after.txPackets - before.txPackets,
  };
}

/**
 * The programs' totals and the interface's counters at one moment: read between two reads of
 * the counters that agree, so no packet (a stray ARP refresh) fell between the two sources.
 */
async function totals(probe: TcProbe) {
  for (let i = 0; ; i++) {
    const first = veth!.counters();
    const received = Number(probe.maps.received.get());
    const sent = Number(probe.maps.sent.get());
    const second = veth!.counters();
    if ((first.rxPackets === second.rxPackets && first.txPackets === second.txPackets) || i === 20) return { received, sent, ...second };
    await new Promise((r) => setTimeout(r, 10));
  }
}

function byPort(map: Iterable<[number, bigint]>): Record<number, number> {
  return Object.fromEntries([...map].map(([port, n]) => [port, Number(n)]));
}

describe("tc programs", () => {
  it("are SEC(\"tc\") classifiers on a struct __sk_buff that leave traffic to the next program by default (TC_ACT_UNSPEC = TCX_NEXT)", () => {
    expect(generated.c).toContain('SEC("tc")\nint tc_ingress(struct __sk_buff *ctx)');
    expect(generated.c).toContain("return -1 /* TC_ACT_UNSPEC, TCX_NEXT */;");
    expect(generated.ts).toContain('attach: { kind: "tc", direction: "egress" }');
    expect(generated.ts).toMatch(/interface: string;/);
  });
});

describe.skipIf(!support.ok || noVeth !== undefined)("tc on a veth pair into a private namespace", () => {
  for (const mode of ["tcx", "clsact"] as const) {
    it(`counts every packet the interface receives and sends, as ${mode}`, async () => {
      using probe = await load({ interface: veth!.outer, tcMode: mode });
      expect(probe.object.attachments()).toEqual([
        { program: "tc_ingress", target: "tc/ingress", on: veth!.outer, mode },
        { program: "tc_egress", target: "tc/egress", on: veth!.outer, mode },
      ]);
      const counts = await measure(probe, async () => {
        sendIn({ udp: [{ port: 9, count: 20 }, { port: 7, count: 5 }], tcp: [{ port: 5001 }, { port: 5001 }, { port: 5002 }] });
        await sendOut(9, 12);
      });
      expect(counts.udpIn).toEqual({ 9: 20, 7: 5 });
      expect(counts.tcpSynsIn).toEqual({ 5001: 2, 5002: 1 }); // refused at once (RST): no SYN is retried
      expect(counts.udpOut).toEqual({ 9: 12 });
      expect(counts.received).toBe(counts.rxPackets);
      expect(counts.sent).toBe(counts.txPackets);
      expect(counts.received).toBeGreaterThanOrEqual(25 + 3); // and ARP, ICMP port unreachable
      expect(counts.sent).toBeGreaterThanOrEqual(12 + 3); // and the RSTs
    });
  }

  it("a conditional drop on one UDP port drops exactly its datagrams; the others arrive, and all are counted", async () => {
    const ports = { kept: 40007, dropped: 40009 };
    const arrived: Record<number, number> = { [ports.kept]: 0, [ports.dropped]: 0 };
    const sockets = await Promise.all(Object.values(ports).map(async (port) => {
      const s = createSocket("udp4");
      s.on("message", () => arrived[port]!++);
      await new Promise<void>((ok) => s.bind(port, veth!.outerAddr, ok));
      return s;
    }));
    try {
      using probe = await load({ interface: veth!.outer, params: { dropPort: ports.dropped } });
      sendIn({ udp: [{ port: ports.kept, count: 11 }, { port: ports.dropped, count: 6 }] });
      await waitFor(() => arrived[ports.kept] === 11, 3000, "the datagrams not dropped");
      await new Promise((r) => setTimeout(r, 100));
      expect(arrived).toEqual({ [ports.kept]: 11, [ports.dropped]: 0 });
      expect(byPort(probe.maps.udpIn)).toEqual({ [ports.kept]: 11, [ports.dropped]: 6 }); // counted before the verdict
    } finally {
      for (const s of sockets) s.close();
    }
  });

  it("detaches on close: nothing holds the programs any more, and the kernel frees them", async () => {
    const probe = await load({ interface: veth!.outer });
    expect(probe.object.attachments().map((a) => a.mode)).toEqual(["tcx", "tcx"]); // "auto" on a kernel with tcx
    const ids = probe.object.programInfo().map((p) => p.id);
    const alive = () => ids.filter((id) => spawnSync("bpftool", ["prog", "show", "id", String(id)]).status === 0);
    expect(alive()).toEqual(ids);
    probe[Symbol.dispose]();
    await waitFor(() => alive().length === 0, 5000, "the tc programs to be freed");
  });

  it("says which option is missing, and which interface does not exist", async () => {
    await expect(load({} as { interface: string })).rejects.toThrow(`program 'tc_ingress' attaches to a network interface: name it with { interface: "eth0" } (probegen run --interface NAME; probegen list interfaces)`);
    await expect(load({ interface: "pgnosuch0" })).rejects.toThrow(new RegExp(`there is no network interface 'pgnosuch0' \\(interfaces: .*${veth!.outer}`));
  });
});
