// The Node consumer of the event-path and memory figures: loads bench/.out/getppid.mjs (the loader
// probegen generated from bench/specs/getppid.yaml), reads probe.events through a listener
// (`probe.events.on`) or an async iterator (`for await`), prints "ready", and on SIGTERM prints one
// JSON line: events, CPU (process.cpuUsage from ready to the end), drops (probe.stats()), latency of
// every 64th event (ktime from BPF vs process.hrtime, both CLOCK_MONOTONIC) and RSS samples.
// Latency is reported over all events and over the steady state: events from 1 s after the first
// one, once the JIT has compiled the batch loop and V8's young generation has grown (the first
// ~200 ms at full rate run interpreted, with a 1 MiB nursery collected every few ms).
//   node bench/node-consumer.mjs LOADER listener|iterator|batches [drainIntervalMs] [sampleEvery]
// (sampleEvery: the latency of every Nth event, a power of two, default 64)
import { pathToFileURL } from "node:url";

const [loaderPath, mode = "listener", interval, every = "64"] = process.argv.slice(2);
const sampleMask = Number(every) - 1;
const loader = await import(pathToFileURL(loaderPath).href);
const load = Object.entries(loader).find(([name, fn]) => name.startsWith("load") && typeof fn === "function")?.[1];
if (!load) throw new Error(`${loaderPath} exports no load function`);
const options = interval ? { drainIntervalMs: Number(interval) } : {};
const probe = await load(options);

let events = 0;
let sink = 0;
// A fixed-size reservoir: an ever-growing array of samples would itself grow the RSS the memory
// figure measures.
const RESERVOIR = 1 << 16;
const reservoir = new Float64Array(RESERVOIR);
let seen = 0;
const sample = (v) => {
  // Both paths run from the first sample on: a branch first taken when the reservoir fills would
  // deoptimise the consumer (inlined into the runtime's batch loop) mid-run.
  const r = Math.floor(Math.random() * (seen + 1));
  const j = seen < RESERVOIR ? seen : r;
  if (j < RESERVOIR) reservoir[j] = v;
  seen++;
};
const WARMUP_NS = 1_000_000_000n;
let firstEventAt = 0n;
let warmupMaxNs = 0;
let warmupSamples = 0;
const onEvent = (ev) => {
  if ((events & sampleMask) === 0 && ev.ktime !== undefined) {
    const now = process.hrtime.bigint();
    if (firstEventAt === 0n) firstEventAt = now;
    const latency = Number(now - ev.ktime);
    if (now - firstEventAt >= WARMUP_NS) sample(latency);
    else {
      warmupSamples++;
      if (latency > warmupMaxNs) warmupMaxNs = latency;
    }
  }
  sink = sink ^ ev.pid ^ ev.comm.length; // touch decoded fields so nothing is optimised away (xor: never overflows)
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
  // deliver what the producer left, then stop
  probe.events.flush();
  await new Promise((r) => setTimeout(r, 50));
  const cpu = process.cpuUsage(cpu0);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const programs = probe.object.programInfo().map((p) => ({ ...p, runCount: Number(p.runCount), runTimeNs: Number(p.runTimeNs) }));
  const drops = probe.stats().dropped;
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
    warmupLatencySamples: warmupSamples,
    warmupLatencyMaxNs: warmupMaxNs,
    latencyP50Ns: pct(0.5),
    latencyP99Ns: pct(0.99),
    rss,
    programs,
    sink: sink !== 0,
  };
  probe.close();
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
});
