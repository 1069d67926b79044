// Runs where kprobes attach (a host kernel that has them, or the Debian-kernel test VM):
// loads the generated openat2 probe, opens a unique file, and prints the events of that open
// as JSON on stdout. Uses the compiled loader in dist/ (npm test builds it first).
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOpenat2 } from "../../../dist/generated/openat2.js";

const dir = process.env.PROBEGEN_VM_SCRATCH ?? process.env.TMPDIR ?? "/tmp";
const path = join(dir, `probegen-openat2-${process.pid}`);
writeFileSync(path, "x");

const probe = await loadOpenat2();
const events = [];
probe.events.on((ev) => {
  if (ev.pid === process.pid) events.push(ev);
});
const fd = openSync(path, "r");
closeSync(fd);
const deadline = Date.now() + 5000;
while (!events.some((e) => e.type === "exit" && e.ret === BigInt(fd)) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 10));
}
probe.close();
const mine = events.filter((e, i) => (e.type === "enter" && e.filename === path) || (e.type === "exit" && events[i - 1]?.filename === path));
process.stdout.write(JSON.stringify({ pid: process.pid, path, fd, events: mine }, (_, v) => (typeof v === "bigint" ? Number(v) : v)) + "\n");
