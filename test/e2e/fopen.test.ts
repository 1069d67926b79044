/**
 * fentry/fexit with BTF-typed arguments and CO-RE reads (fopen, bundled). This kernel has no
 * tracing program type, so the test runs in the Debian-kernel VM (or on a host that has it).
 */
import { describe, expect, it } from "vitest";
import { placement as placeTest, runScript } from "../helpers/feature-run.js";

const placement = placeTest("e2e/fopen.test.ts", "fentry", "fexit");

describe("fopen: an fentry/fexit pair on do_sys_openat2", () => {
  it.skipIf(placement.where === "skip")(`reports path, open_how flags, parent, return value and errno [${placement.where}: ${placement.kernel}]`, async () => {
    const r = await runScript(placement, "test/e2e/guest/fopen.mjs");
    expect(r.events).toHaveLength(2);
    const [ok, failed] = r.events;
    expect(ok).toMatchObject({ pid: r.pid, ppid: r.ppid, comm: "node", dfd: -100, filename: r.path, ret: r.fd });
    // O_RDONLY | O_CLOEXEC from libuv, plus the O_LARGEFILE the kernel adds on 64-bit.
    expect(ok.flags).toBe(0o2000000 | 0o100000);
    expect(failed).toMatchObject({ pid: r.pid, filename: r.missing, ret: -2 });
    expect(ok.latencyNs).toBeGreaterThan(0);
  }, 300_000);
});
