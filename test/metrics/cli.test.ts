/** `probegen run --metrics` mistakes: each a sentence with a fix, exit 2, never a stack trace. */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { probegen } from "../cli/helpers.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { freePort, SPEC } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "metrics/cli.test.ts");

describe("probegen run --metrics", () => {
  it("refuses an address that is not [HOST]:PORT", async () => {
    const r = await probegen(["run", SPEC, "--metrics", "localhost"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--metrics 'localhost' is not [HOST]:PORT");
    expect(r.stderr).toContain("--metrics :9464");
  });

  it("refuses a spec that marks no map as a metric", async () => {
    const r = await probegen(["run", "probes/opensnoop.yaml", "--metrics", ":0"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--metrics: probes/opensnoop.yaml marks no map as a metric");
    expect(r.stderr).toContain("metric: true");
  });

  it.skipIf(!support.ok)("says so when the port is taken", async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(port, "127.0.0.1", r));
    try {
      const r = await probegen(["run", SPEC, "--param", "comm=x", "--metrics", `127.0.0.1:${port}`, "--duration", "1s"]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`cannot serve metrics on 127.0.0.1:${port}: another process is listening there`);
      expect(r.stderr).toContain("choose another with --metrics HOST:PORT");
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  });
});
