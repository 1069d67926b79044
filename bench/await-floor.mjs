// The floor under a per-event `for await`: CPU per iteration of `for await` over an iterator whose
// next() returns an already-resolved promise of a pre-made object (no ring, no decoding), the
// cheapest shape the protocol allows (an async generator costs ~2.5x more). Prints one JSON line.
//   node bench/await-floor.mjs [iterations]
const N = Number(process.argv[2] ?? 5_000_000);
const item = { pid: 1 };
function iterator(n) {
  let i = 0;
  const done = { value: undefined, done: true };
  return {
    next: () => (i++ < n ? Promise.resolve({ value: item, done: false }) : Promise.resolve(done)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
async function measure(n) {
  const cpu = process.cpuUsage();
  let sink = 0;
  for await (const ev of iterator(n)) sink ^= ev.pid;
  const used = process.cpuUsage(cpu);
  return { nsPerIteration: ((used.user + used.system) * 1000) / n, sink };
}
await measure(Math.min(N, 200_000)); // warm-up
const { nsPerIteration } = await measure(N);
process.stdout.write(JSON.stringify({ iterations: N, nsPerIteration }) + "\n");
