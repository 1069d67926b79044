// Runs where fentry/fexit load (a kernel with the tracing program type: the Debian-kernel VM
// here): loads the generated fopen probe, opens a unique file and a missing one, and prints
// the events of those opens as JSON. Uses the compiled loader in dist/ (npm test builds it).
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadFopen } from "../../../dist/generated/fopen.js";

const dir = process.env.PROBEGEN_VM_SCRATCH ?? process.env.TMPDIR ?? "/tmp";
const path = join(dir, `probegen-fopen-${process.pid}`);
const missing = join(dir, `probegen-fopen-missing-${process.pid}`);
writeFileSync(path, "x");

const probe = await loadFopen();
const events = [];
probe.events.on((ev) => {
  if (ev.pid === process.pid && (ev.filename === path || ev.filename === missing)) events.push(ev);
});
const fd = openSync(path, "r");
closeSync(fd);
try {
  openSync(missing, "r");
} catch {
  // ENOENT, as intended
}
const deadline = Date.now() + 5000;
while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
probe.close();
const ppid = process.ppid;
process.stdout.write(JSON.stringify({ pid: process.pid, ppid, path, missing, fd, events }, (_, v) => (typeof v === "bigint" ? Number(v) : v)) + "\n");
