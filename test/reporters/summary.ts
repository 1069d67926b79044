/**
 * Closing summary: which kernel ran which tests, then one plain line CI can read
 * ("tests: N passed, N failed, N skipped"). Tests that run in the Debian-kernel VM say so in
 * their names ("[vm: 6.1.0-...]"); every other test runs on the host kernel.
 */
import { readFileSync } from "node:fs";
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const host = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const byKernel = new Map<string, number>();
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
        if (state !== "passed" && state !== "failed") continue;
        const vm = /\[vm: ([^\]]+)\]/.exec(test.name);
        const kernel = vm ? `${vm[1]} (Debian kernel in the test VM)` : `${host} (host)`;
        byKernel.set(kernel, (byKernel.get(kernel) ?? 0) + 1);
      }
    }
    const lines = ["", "Kernels that ran tests:"];
    for (const [kernel, n] of byKernel) lines.push(`  ${kernel}: ${n} test${n === 1 ? "" : "s"}`);
    lines.push(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
    process.stdout.write(lines.join("\n") + "\n");
  }
}
