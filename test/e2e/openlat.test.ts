/** openlat (bundled): an entry/exit pair with params, a histogram and a conditional count. */
import { closeSync, openSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadOpenlat, type OpenEvent } from "../../generated/openlat.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/openlat.test.ts");

describe.skipIf(!support.ok)("openlat on the running kernel", () => {
  it("reports this process's failed and successful opens with errno and latency, and fills its maps", async () => {
    const comm = readFileSync("/proc/thread-self/comm", "utf8").trim(); // before loading: reading it opens a file
    using probe = await loadOpenlat({ params: { targetPid: process.pid } });
    const mine: OpenEvent[] = [];
    probe.events.on((ev) => mine.push(ev));
    const missing = `/nonexistent/probegen-${process.pid}`;
    for (let i = 0; i < 3; i++) {
      try {
        openSync(missing, "r");
      } catch {
        // ENOENT, as intended
      }
    }
    closeSync(openSync("/proc/self/stat", "r"));
    for (let i = 0; i < 100 && !mine.some((e) => e.filename === "/proc/self/stat"); i++) await new Promise((r) => setTimeout(r, 10));

    expect(mine.every((e) => e.pid === process.pid)).toBe(true);
    const failed = mine.filter((e) => e.filename === missing);
    expect(failed.map((e) => [e.ret, e.errno])).toEqual([[-2n, 2], [-2n, 2], [-2n, 2]]);
    const ok = mine.find((e) => e.filename === "/proc/self/stat")!;
    expect(ok.ret).toBeGreaterThanOrEqual(0n);
    expect(ok.errno).toBe(0);
    expect(ok.latencyNs).toBeGreaterThan(0n);

    expect(probe.maps.latency.get(comm)!.total).toBe(mine.filter((e) => e.comm === comm).length);
    expect(probe.maps.failures.get({ uid: process.getuid!(), errno: 2 })).toBe(BigInt(mine.filter((e) => e.errno === 2).length));
    expect(probe.stats().dropped).toBe(0);
  });
});
