// The map-read figure of bench/run.mjs "scale": loads bench/specs/mapread.yaml's loader (not
// attached) with its counts map sized to N, fills N entries from JS (not timed), then times
// reading every entry (CPU time: the machine is shared), ROUNDS times each:
//   - the C reference (bench/reference/mapread.c), given the map's fd: bpf_map_lookup_batch into arrays;
//   - JS, the runtime's TypedMap iteration (batch lookups), every key decoded into { pid, comm } and
//     every value into a bigint: `for (const [key, value] of map)` using each entry as it comes
//     (jsNs), and Array.from(map) keeping them all (keptNs: the same plus V8 promoting N live objects).
//   node bench/map-read.mjs LOADER C_READER N [ROUNDS]
// Prints one JSON line: { entries, cNs: [...], jsNs: [...], jsFirstNs, keptNs: [...], keptFirstNs, batchSize }
// (*FirstNs: the first read, before V8 compiled the loop; not among the timed rounds).
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";

const [loaderPath, cReader, n, rounds = "5"] = process.argv.slice(2);
const entries = Number(n);
const { loadMapread } = await import(pathToFileURL(loaderPath).href);
const probe = await loadMapread({ attach: false, maps: { counts: { maxEntries: entries } } });
const map = probe.maps.counts;
// Distinct pids, and comm names as a busy machine has them: a few hundred commands.
for (let i = 0; i < entries; i++) map.set({ pid: 1000 + i, comm: `worker-${i % 500}` }, BigInt(i));

const fd = map.raw.fd;
// The C reader reads as many entries per call as the runtime does: the comparison is of the reads, not of batch sizes.
const c = spawnSync(cReader, ["3", String(map.batchSize), rounds], { stdio: ["ignore", "pipe", "inherit", fd], encoding: "utf8" });
if (c.status !== 0) throw new Error(`${cReader} failed (${c.status})`);
const cResult = JSON.parse(c.stdout);
if (cResult.entries !== entries) throw new Error(`C reader read ${cResult.entries} entries of ${entries}`);

/** CPU time of this process so far (every thread: V8's collector helpers too), in ns. */
const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};

/**
 * CPU ns of each of `rounds` reads by `read`, which returns how many entries it saw; after reads of
 * at least 200 k entries in all (and 3 reads) that are not timed, so that V8 has compiled the loop, as
 * it has in a tool that reads its map every interval. Also the first read's ns: the cold one.
 */
function time(read) {
  const check = (seen) => {
    if (seen !== entries) throw new Error(`JS read ${seen} entries of ${entries}`);
  };
  const ns = [];
  let first;
  for (let warm = 0; warm < Math.max(3, 200_000 / entries); warm++) {
    const start = cpuNs();
    check(read());
    first ??= cpuNs() - start;
  }
  for (let r = 0; r < Number(rounds); r++) {
    const start = cpuNs();
    check(read());
    ns.push(cpuNs() - start);
  }
  return { ns, first };
}
// Each entry used, as the C reader sums them, without allocating (a bigint sum would allocate
// a bigint per entry, which is the consumer's cost, not the read's).
let pids = 0;
let max = 0n;
const js = time(() => {
  let n = 0;
  for (const [key, value] of map) {
    pids += key.pid;
    if (value > max) max = value;
    n++;
  }
  return n;
});
const kept = time(() => Array.from(map).length);
probe.close();
process.stdout.write(JSON.stringify({ entries, cNs: cResult.ns, jsNs: js.ns, jsFirstNs: js.first, keptNs: kept.ns, keptFirstNs: kept.first, batchSize: map.batchSize }) + "\n");
