/**
 * cgroup_skb on a cgroup v2 directory the test creates (under the cgroup2 mount found in
 * /proc/self/mountinfo): a child moved into it sends UDP datagrams on loopback, and the egress
 * program counts exactly those and their bytes (IP and UDP headers and the payload), while this
 * process's own traffic (outside the cgroup) is not counted. The cgroup is removed afterwards, even when a test fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { cgroup2Mount } from "../../src/runtime/cgroup.js";
import { bpfSupport, skipNote, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/cgroup-skb.test.ts");
const mount = cgroup2Mount();
if (support.ok && !mount) console.warn("[e2e/cgroup-skb.test.ts] SKIPPING: no cgroup v2 hierarchy is mounted (scripts/setup.sh mounts one)");
const out = "test/.out/cgroup-skb";
const name = `probegen-test-${process.pid}`;

interface CgroupProbe extends Disposable {
  maps: { sent: { get(): bigint }; sentBytes: { get(): bigint }; received: { get(): bigint }; udpOut: Iterable<[number, bigint]> };
  object: { attachments(): Array<{ program: string; target: string; on?: string; mode: string }> };
}
let load: (options: { cgroup: string; params?: { blockPort: number } }) => Promise<CgroupProbe>;
let generated: { c: string; ts: string };
let dir: string | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  const [result] = await buildSpecs(["test/fixtures/e2e/cgroup-count.yaml"], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  const text = (suffix: string) => Buffer.from(result!.files.find((f) => f.path.endsWith(suffix))!.contents).toString();
  generated = { c: text(".bpf.c"), ts: text(".ts") };
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/cgroupcount.ts`)).loadCgroupcount;
  if (support.ok && mount) {
    dir = join(mount, name);
    mkdirSync(dir);
  }
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
  if (!dir) return;
  // A cgroup goes once its last process is reaped; that can lag the exit event a little.
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});

const PAYLOAD = "from the cgroup";

/**
 * A child that waits until it is in the cgroup, then sends `count` datagrams to each port and
 * exits; returns the errors its sends got (by code).
 */
async function childSends(plan: Array<{ port: number; count: number }>): Promise<Record<string, number>> {
  const script = `
    const udp = require("node:dgram").createSocket("udp4");
    const errors = {};
    process.stdin.once("data", async () => {
      for (const { port, count } of ${JSON.stringify(plan)}) {
        for (let i = 0; i < count; i++) {
          await new Promise((ok) => udp.send(${JSON.stringify(PAYLOAD)}, port, "127.0.0.1", (e) => { if (e) errors[e.code] = (errors[e.code] ?? 0) + 1; ok(); }));
        }
      }
      udp.close();
      process.stdin.destroy();
      process.stdout.write(JSON.stringify(errors));
    });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  await new Promise((ok) => child.once("spawn", ok));
  writeFileSync(join(dir!, "cgroup.procs"), String(child.pid));
  child.stdin!.write("go\n");
  await new Promise((ok) => child.once("exit", ok));
  return JSON.parse(out || "{}");
}

describe("cgroup_skb programs", () => {
  it("are cgroup_skb/egress and /ingress programs that pass by default (1)", () => {
    expect(generated.c).toContain('SEC("cgroup_skb/egress")\nint cgroup_skb_egress(struct __sk_buff *ctx)');
    expect(generated.c).toContain("return 1;");
    expect(generated.ts).toMatch(/cgroup: string;/);
  });
});

describe.skipIf(!support.ok || !mount)("cgroup_skb on a cgroup v2 directory the test creates", () => {
  it("counts exactly the packets and bytes a child in the cgroup sends, not this process's", async () => {
    using probe = await load({ cgroup: name }); // relative to the cgroup2 mount
    expect(probe.object.attachments()).toEqual([
      { program: "cgroup_skb_egress", target: "cgroup_skb/egress", on: dir, mode: "link" },
      { program: "cgroup_skb_ingress", target: "cgroup_skb/ingress", on: dir, mode: "link" },
    ]);
    const sink = createSocket("udp4");
    let received = 0;
    sink.on("message", () => received++);
    await new Promise<void>((ok) => sink.bind(0, "127.0.0.1", ok));
    try {
      expect(await childSends([{ port: sink.address().port, count: 9 }])).toEqual({});
      // This process is not in the cgroup: its datagrams are not counted.
      const self = createSocket("udp4");
      await new Promise((ok) => self.send("from outside", sink.address().port, "127.0.0.1", ok));
      self.close();
      await waitFor(() => received === 10, 2000, "the datagrams");
      expect(Number(probe.maps.sent.get())).toBe(9);
      expect(Number(probe.maps.sentBytes.get())).toBe(9 * (20 + 8 + PAYLOAD.length)); // IPv4 and UDP headers, payload
      expect([...probe.maps.udpOut].map(([port, n]) => [port, Number(n)])).toEqual([[sink.address().port, 9]]);
      expect(Number(probe.maps.received.get())).toBe(0); // nothing was sent to the child
    } finally {
      sink.close();
    }
  });

  it("a drop on one port: the child's sends there fail (EPERM) and never arrive; its others do", async () => {
    const sinks = await Promise.all([0, 1].map(async () => {
      const s = createSocket("udp4");
      const got = { n: 0 };
      s.on("message", () => got.n++);
      await new Promise<void>((ok) => s.bind(0, "127.0.0.1", ok));
      return { s, got, port: s.address().port };
    }));
    const [open, blocked] = sinks as [typeof sinks[0], typeof sinks[0]];
    try {
      using probe = await load({ cgroup: name, params: { blockPort: blocked.port } });
      expect(await childSends([{ port: open.port, count: 5 }, { port: blocked.port, count: 3 }])).toEqual({ EPERM: 3 });
      await waitFor(() => open.got.n === 5, 2000, "the datagrams not dropped");
      expect(blocked.got.n).toBe(0);
      expect(Object.fromEntries([...probe.maps.udpOut].map(([port, n]) => [port, Number(n)]))).toEqual({ [open.port]: 5, [blocked.port]: 3 });
    } finally {
      for (const { s } of sinks) s.close();
    }
  });

  it("says what is wrong with a cgroup that does not exist, or is not in the v2 hierarchy", async () => {
    await expect(load({ cgroup: "probegen-no-such-cgroup" })).rejects.toThrow(`cgroup 'probegen-no-such-cgroup' does not exist (${join(mount!, "probegen-no-such-cgroup")}): create it with mkdir`);
    await expect(load({ cgroup: "/tmp" })).rejects.toThrow(`cgroup '/tmp' is not in the cgroup v2 hierarchy, which is mounted at ${mount}`);
  });
});
