// The Node consumer of the event-path and memory figures: loads bench/.out/getppid.mjs (the loader
// probegen generated from bench/specs/getppid.yaml), reads probe.events through a listener
// (`probe.events.on`) or an async iterator (`for await`), prints "ready", and on SIGTERM prints one
// JSON line: events, CPU (process.cpuUsage from ready to the end), drops (pg_drops), latency of
// every 64th event (ktime from BPF vs process.hrtime, both CLOCK_MONOTONIC) and RSS samples.
//   node bench/node-consumer.mjs LOADER listener|iterator|batches [pollIntervalMs]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [loaderPath, mode = "listener", poll] = process.argv.slice(2);
const loader = await import(pathToFileURL(loaderPath).href);
const load = Object.entries(loader).find(([name, fn]) => name.startsWith("load") && typeof fn === "function")?.[1];
if (!load) throw new Error(`${loaderPath} exports no load function`);
const options = poll ? { pollIntervalMs: Number(poll) } : {};
const probe = await load(options);

let events = 0;
let sink = 0;
// A fixed-size reservoir: an ever-growing array of samples would itself grow the RSS the memory
// figure measures.
const RESERVOIR = 1 << 16;
const reservoir = new Float64Array(RESERVOIR);
let seen = 0;
const sample = (v) => {
  if (seen < RESERVOIR) reservoir[seen] = v;
  else {
    const j = Math.floor(Math.random() * (seen + 1));
    if (j < RESERVOIR) reservoir[j] = v;
  }
  seen++;
};
const onEvent = (ev) => {
  if ((events & 63) === 0 && ev.ktime !== undefined) sample(Number(process.hrtime.bigint() - ev.ktime));
  sink += ev.pid + ev.comm.length; // touch decoded fields so nothing is optimised away
  events++;
};

const rss = [];
const t0 = process.hrtime.bigint();
const sampleRss = () => rss.push([Number(process.hrtime.bigint() - t0) / 1e9, process.memoryUsage.rss()]);
sampleRss();
const rssTimer = setInterval(sampleRss, 1000);

let stopIterator;
let finished;
if (mode === "listener") {
  const off = probe.events.on(onEvent);
  stopIterator = off;
  finished = Promise.resolve();
} else if (mode === "batches") {
  stopIterator = () => probe.events.close();
  finished = (async () => {
    for await (const batch of probe.events.batches()) for (const ev of batch) onEvent(ev);
  })();
} else {
  stopIterator = () => probe.events.close(); // a pending `for await` ends (done) on close()
  finished = (async () => {
    for await (const ev of probe.events) onEvent(ev);
  })();
}

const cpu0 = process.cpuUsage();
const progIds = probe.object.programInfo().map((p) => p.id);
process.stdout.write(`ready ${JSON.stringify({ progIds })}\n`);

process.once("SIGTERM", async () => {
  // let the timer drain what the producer left, then stop
  probe.events.flush?.();
  await new Promise((r) => setTimeout(r, 50));
  const cpu = process.cpuUsage(cpu0);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const programs = probe.object.programInfo().map((p) => ({ ...p, runCount: Number(p.runCount), runTimeNs: Number(p.runTimeNs) }));
  let drops = 0;
  try {
    const map = probe.object.map("pg_drops");
    const ncpu = possibleCpus();
    const value = new Uint8Array(8 * ncpu);
    if (map.lookup(new Uint8Array(4), value)) {
      const dv = new DataView(value.buffer);
      for (let i = 0; i < ncpu; i++) drops += Number(dv.getBigUint64(i * 8, true));
    }
  } catch (err) {
    drops = -1;
    process.stderr.write(`pg_drops: ${err.message}\n`);
  }
  stopIterator();
  await finished;
  clearInterval(rssTimer);
  sampleRss();
  const samples = reservoir.slice(0, Math.min(seen, RESERVOIR)).sort();
  const pct = (p) => (samples.length ? samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] : 0);
  const out = {
    events,
    cpuNs: (cpu.user + cpu.system) * 1000,
    wallNs,
    drops,
    userDropped: probe.events.dropped,
    latencySamples: samples.length,
    latencyP50Ns: pct(0.5),
    latencyP99Ns: pct(0.99),
    rss,
    programs,
    sink: sink > 0,
  };
  probe.close();
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
});

function possibleCpus() {
  // /sys/devices/system/cpu/possible: "0-1" or "0,2-3"
  let n = 0;
  for (const part of readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",")) {
    const [a, b] = part.split("-").map(Number);
    n = Math.max(n, (b ?? a) + 1);
  }
  return n;
}
