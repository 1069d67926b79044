/**
 * fentry/fexit with BTF-typed arguments and CO-RE reads (fopen, bundled). This kernel has no
 * tracing program type, so the test runs in the Debian-kernel VM (or on a host that has it).
 */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { placeFor, runInVm } from "../vm/vm.js";

const placement = placeFor("fentry", "fexit");
if (placement.where === "skip") console.warn(`[e2e/fopen.test.ts] SKIPPING: ${placement.reason}`);

describe("fopen: an fentry/fexit pair on do_sys_openat2", () => {
  it.skipIf(placement.where === "skip")(`reports path, open_how flags, parent, return value and errno [${placement.where}: ${placement.kernel}]`, async () => {
    const script = "test/e2e/guest/fopen.mjs";
    const run = placement.where === "vm"
      ? await runInVm(["node", script], { timeoutMs: 240_000 })
      : await execa("node", [script], { reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    const r = JSON.parse(String(run.stdout).trim().split("\n").at(-1)!);
    expect(r.events).toHaveLength(2);
    const [ok, failed] = r.events;
    expect(ok).toMatchObject({ pid: r.pid, ppid: r.ppid, comm: "node", dfd: -100, filename: r.path, ret: r.fd });
    // O_RDONLY | O_CLOEXEC from libuv, plus the O_LARGEFILE the kernel adds on 64-bit.
    expect(ok.flags).toBe(0o2000000 | 0o100000);
    expect(failed).toMatchObject({ pid: r.pid, filename: r.missing, ret: -2 });
    expect(ok.latencyNs).toBeGreaterThan(0);
  }, 300_000);
});
