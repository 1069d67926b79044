// Runs where tp_btf programs load (the Debian-kernel VM here): loads the tpbtf loader that
// test/e2e/tpbtf.test.ts built and transpiled (argv[2]), runs /bin/true, and prints its exec event.
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";

const { loadTpbtf } = await import(pathToFileURL(process.argv[2]).href);
const probe = await loadTpbtf();
const events = [];
probe.events.on((ev) => events.push(ev));
const child = spawn("/bin/true", [], { stdio: "ignore" });
await new Promise((resolve) => child.on("exit", resolve));
const deadline = Date.now() + 5000;
while (!events.some((e) => e.pid === child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
probe.close();
process.stdout.write(JSON.stringify({ me: process.pid, child: child.pid, events: events.filter((e) => e.pid === child.pid) }) + "\n");
