// Does a ring reader keep Node alive exactly when it should? Runs small child
// processes against the addon directly (the TS layer's ref/unref decisions are
// covered with a fake reader in ring-buffer.test.ts).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

import { bpfSupport, compileFixture, skipNote } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "event-loop.test.ts");

const ADDON = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "Release", "probegen_native.node");

const CHILD = `
const addon = require(process.argv[2]);
addon.init((op, errno, msg) => Object.assign(new Error(op + ": " + msg), { errno }));
const obj = new addon.BpfObject(require("fs").readFileSync(process.argv[3]), "getppid");
obj.load();
obj.attach("on_getppid");
const maps = obj.maps().map((m) => m.name);
let records = 0;
const reader = obj.openRingBuffer(maps.indexOf("events"), (buf, len) => { records += len / 24; }, 5);
reader.start();
console.log("started");
const mode = process.argv[4];
if (mode === "unref") reader.unref();
if (mode === "close") setTimeout(() => obj.close(), 50);
if (mode === "records") setTimeout(() => { process.ppid; process.ppid; }, 20);
if (mode === "records") setTimeout(() => { console.log(records); obj.close(); }, 200);
process.on("exit", () => console.log("exit"));
`;

// A worker owning an attached program and a running reader is terminated: the
// env cleanup must close the reader before the addon is unloaded (this used to
// crash in uv__finish_close) and must detach the program.
const WORKER_PARENT = `
const { Worker } = require("worker_threads");
const src = \`
const m = require(\${JSON.stringify(process.argv[2])});
m.init((op, errno, msg) => new Error(op + ": " + msg));
const o = new m.BpfObject(require("fs").readFileSync(\${JSON.stringify(process.argv[3])}), "getppid");
o.load();
o.attach("on_getppid");
const r = o.openRingBuffer(o.maps().findIndex((x) => x.name === "events"), () => require("worker_threads").parentPort.postMessage(1), 5);
r.start();
require("worker_threads").parentPort.postMessage(o.programInfo()[0].id);
setInterval(() => process.ppid, 2);
\`;
const w = new Worker(src, { eval: true });
let id = 0, batches = 0;
// Terminate once the worker's reader has delivered a batch (not after a fixed time: on a loaded
// machine the worker may still be loading then), while its timer keeps records coming.
let terminating = false;
w.on("message", async (m) => {
  if (m > 1) id = m; else batches++;
  if (!id || !batches || terminating) return;
  terminating = true;
  await w.terminate();
  setTimeout(() => {
    const out = require("child_process").execFileSync("bpftool", ["--json", "prog", "list"], { encoding: "utf8" });
    const still = JSON.parse(out).some((p) => p.id === id);
    console.log(JSON.stringify({ id, batches, still }));
  }, 300);
});
`;

function runChild(mode: string) {
  const dir = join(tmpdir(), `probegen-runtime-child-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "child.cjs");
  writeFileSync(script, CHILD);
  const object = join(dir, "getppid.bpf.o");
  writeFileSync(object, compileFixture("getppid"));
  if (mode === "worker") writeFileSync(script, WORKER_PARENT);
  return spawnSync(process.execPath, [script, ADDON, object, mode], { encoding: "utf8", timeout: mode === "worker" ? 8000 : 3000 });
}

describe.skipIf(!support.ok)("ring reader and the event loop", () => {
  it("keeps the process alive while started and ref'd", () => {
    // Generous timeouts: on a loaded machine loading alone can take a second.
    const r = runChild("ref");
    expect(r.stdout, r.stderr).toContain("started");
    expect(r.signal).toBe("SIGTERM"); // killed by the timeout: still running
  });

  it("lets the process exit when unref'd", () => {
    const r = runChild("unref");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("exit");
  });

  it("lets the process exit once the object is closed", () => {
    const r = runChild("close");
    expect(r.status).toBe(0);
  });

  it("closes a running reader when its worker thread is terminated", () => {
    const r = runChild("worker");
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim()) as { id: number; batches: number; still: boolean };
    expect(result.id).toBeGreaterThan(0);
    expect(result.batches).toBeGreaterThan(0);
    expect(result.still).toBe(false);
  });

  it("delivers records in the child (sanity check of the harness)", () => {
    const r = runChild("records");
    expect(r.status).toBe(0);
    expect(Number(r.stdout.split("\n")[1])).toBeGreaterThanOrEqual(2);
  });
});
