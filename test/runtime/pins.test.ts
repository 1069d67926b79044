/**
 * Pinned maps on the real kernel's bpffs: each probe pins under /sys/fs/bpf/probegen/PROBE/, so
 * two probes with a map of the same name and layout no longer share one map; a reload of the
 * same probe reuses its pin; a pin of another layout is refused naming the map, the pin and
 * what differs. Every pin the test makes is removed.
 */
import { existsSync, mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "runtime/pins.test.ts");
const BPF_FS_MAGIC = 0xcafe4a11;
const bpffs = existsSync("/sys/fs/bpf") && statfsSync("/sys/fs/bpf").type === BPF_FS_MAGIC;
if (support.ok && !bpffs) console.warn("[runtime/pins.test.ts] SKIPPING: bpffs is not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)");

const out = "test/.out/pins";
const probeA = `pin_a_${process.pid}`;
const probeB = `pin_b_${process.pid}`;
afterAll(() => {
  for (const p of [probeA, probeB]) rmSync(`/sys/fs/bpf/probegen/${p}`, { recursive: true, force: true });
});

const spec = (name: string, key: string) => `name: ${name}
maps:
  counts: { type: hash, key: ${key}, value: u64, max_entries: 64, pinned: true }
programs:
  - attach: tracepoint/syscalls/sys_enter_getppid
    filter: pid == 0
    update:
      - { map: counts, key: pid, count: true }
`;

interface CountsProbe extends Disposable {
  close(): void;
  maps: { counts: { get(k: number | bigint): bigint | undefined; set(k: number | bigint, v: bigint): void } };
}

/** Builds a spec into its own directory (the loaders share a file name) and returns its loader. */
async function loader(name: string, key: string, variant: string): Promise<() => Promise<CountsProbe>> {
  const dir = `${out}/${variant}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${name}.yaml`, spec(name, key));
  const [result] = await buildSpecs([`${dir}/${name}.yaml`], { outDir: dir });
  expect(result!.diagnostics).toEqual([]);
  const module = await import(/* @vite-ignore */ `${process.cwd()}/${dir}/${name}.ts`);
  return module[`load${name.charAt(0).toUpperCase()}${name.slice(1).replace(/_(\w)/g, (_: string, c: string) => c.toUpperCase())}`];
}

describe.skipIf(!support.ok || !bpffs)("pinned maps are namespaced by probe", () => {
  it("two probes with a map of the same name and layout each pin their own; a reload reuses it", async () => {
    const loadA = await loader(probeA, "u32", "a");
    const loadB = await loader(probeB, "u32", "b");
    {
      using a = await loadA();
      using b = await loadB();
      a.maps.counts.set(7, 70n);
      b.maps.counts.set(7, 700n);
      expect(a.maps.counts.get(7)).toBe(70n);
      expect(b.maps.counts.get(7)).toBe(700n);
    }
    expect(existsSync(`/sys/fs/bpf/probegen/${probeA}/counts`)).toBe(true);
    expect(existsSync(`/sys/fs/bpf/probegen/${probeB}/counts`)).toBe(true);
    expect(existsSync("/sys/fs/bpf/counts")).toBe(false);
    using again = await loadA(); // the pin outlives the probe and is reused
    expect(again.maps.counts.get(7)).toBe(70n);
  });

  it("a pin of another layout is refused, naming the map, the pin path and what differs", async () => {
    const loadA = await loader(probeA, "u32", "a");
    (await loadA()).close(); // pins counts with a 4-byte key
    const loadWide = await loader(probeA, "u64", "wide");
    await expect(loadWide()).rejects.toThrow(
      `map 'counts' is pinned at /sys/fs/bpf/probegen/${probeA}/counts by an earlier load, but that map differs from this one: ` +
        `key size 8 bytes here, 4 pinned; remove the pin to start afresh (rm /sys/fs/bpf/probegen/${probeA}/counts), or load the spec that pinned it`,
    );
    rmSync(`/sys/fs/bpf/probegen/${probeA}/counts`);
    (await loadWide()).close(); // with the pin removed, it loads and pins its own
  });
});
