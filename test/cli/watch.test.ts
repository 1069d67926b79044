/** `probegen build --watch`: rebuilds a spec when it is saved and shows its diagnostics. */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureTracefs } from "../helpers/compile.js";
import { collect, spawnProbegen, withoutField } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "probegen-watch-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("probegen build --watch", () => {
  it("rebuilds on change, shows diagnostics, and recovers", async () => {
    mkdirSync(join(scratch, "probes"));
    cpSync("probes/opensnoop.yaml", join(scratch, "probes/opensnoop.yaml"));
    const spec = join(scratch, "probes/opensnoop.yaml");
    const child = spawnProbegen(["build", "--watch", "probes/opensnoop.yaml"], scratch, { PROBEGEN_TRACEFS: fixtureTracefs });
    const err = collect(child.stderr!);
    try {
      await err.until(/watching 1 spec/);
      expect(err.text()).toContain("✓ probes/opensnoop.yaml → generated/opensnoop.bpf.c");

      writeFileSync(spec, withoutField(readFileSync(spec, "utf8"), "flags"));
      await err.until(/opensnoop\.yaml changed\n[^]*✓ probes\/opensnoop\.yaml → /);
      expect(readFileSync(join(scratch, "generated/opensnoop.ts"), "utf8")).not.toContain("flags:");

      const mark = err.text().length;
      writeFileSync(spec, readFileSync(spec, "utf8").replace("      - filename\n", "      - filenme\n"));
      await err.until(/✗ probes\/opensnoop\.yaml: 1 error/);
      expect(err.text().slice(mark)).toMatch(/probes\/opensnoop\.yaml:\d+:\d+: error: 'filenme'/);
      expect(err.text().slice(mark)).toContain("✗ probes/opensnoop.yaml: 1 error");
    } finally {
      child.kill("SIGINT");
      await child;
    }
    expect(child.exitCode).toBe(0);
  });
});
