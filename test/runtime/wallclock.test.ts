/**
 * The wall-clock offset `decode: wallclock` adds: measured in the addon from back-to-back
 * clock reads, so a kernel timestamp taken now reads as now, to well under a millisecond.
 */
import { describe, expect, it } from "vitest";
import { native } from "../../src/runtime/native.js";
import { clockOffsetNs, wallclock } from "../../src/runtime/decoders.js";

describe("wall clock from kernel timestamps", () => {
  it("the closest of many REALTIME/MONOTONIC/REALTIME reads is microseconds apart, not a syscall's worth", () => {
    for (const clock of ["monotonic", "boottime"] as const) {
      const [offset, gap] = native().clockOffset(clock);
      expect(gap).toBeGreaterThanOrEqual(0n);
      expect(gap).toBeLessThan(20_000n);
      // Two measurements agree to within their gaps and a little scheduling noise.
      const [again] = native().clockOffset(clock);
      expect(Number(again - offset)).toBeLessThan(100_000);
    }
  });

  it("a CLOCK_MONOTONIC reading taken now (Node's hrtime) reads as Date.now()", () => {
    const before = Date.now();
    const at = wallclock(process.hrtime.bigint(), "monotonic");
    const after = Date.now();
    expect(at.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(at.getTime()).toBeLessThanOrEqual(after + 1);
    // BOOTTIME's offset differs from MONOTONIC's by the time suspended since boot, never negative.
    expect(clockOffsetNs("monotonic") - clockOffsetNs("boottime")).toBeGreaterThanOrEqual(-100_000n);
  });
});
