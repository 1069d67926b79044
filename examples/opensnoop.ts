/**
 * The opensnoop example: load the generated probe, print every file opened on this machine for
 * a few seconds, then detach. Run: node dist/examples/opensnoop.js [--duration SECONDS]
 */
import { parseArgs } from "node:util";
import { loadOpensnoop } from "../generated/opensnoop.js";

const { values } = parseArgs({ options: { duration: { type: "string", default: "3" } } });
const seconds = Number(values.duration);

// `| head` closes the pipe early: that ends the example, it is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));

const probe = await loadOpensnoop();
const stop = setTimeout(() => probe.close(), seconds * 1000);
process.once("SIGINT", () => probe.close());

console.log(`${"PID".padStart(7)} ${"UID".padStart(5)} ${"COMM".padEnd(16)} FILE`);
let count = 0;
for await (const ev of probe.events) {
  count++;
  console.log(`${String(ev.pid).padStart(7)} ${String(ev.uid).padStart(5)} ${ev.comm.padEnd(16)} ${ev.filename}`);
}
clearTimeout(stop);
console.log(`\n${count} opens in ${seconds} s; detached.`);
