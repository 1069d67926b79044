/** `probegen check`: the front end only; exit codes and positions, as text and as JSON. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureTracefs } from "../helpers/compile.js";
import { probegen } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "probegen-check-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const env = { PROBEGEN_TRACEFS: fixtureTracefs, PROBEGEN_CLANG: "/nonexistent/clang" }; // check never runs clang

const good = "name: good\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, filename]\n";
const typo = "name: typo\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, filenme]\n";
const badFilter = "name: badfilter\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    filter: comm > 3\n    fields: [pid]\n";
const notYaml = "name: [unclosed\n";

for (const [file, text] of Object.entries({ "good.yaml": good, "typo.yaml": typo, "badfilter.yaml": badFilter, "notyaml.yaml": notYaml })) {
  writeFileSync(join(scratch, file), text);
}

describe("probegen check", () => {
  it("exits 0 on good specs, without clang and without writing anything", async () => {
    const r = await probegen(["check", "good.yaml"], scratch, env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("✓ good.yaml");
    const bundled = await probegen(["check", "probes/opensnoop.yaml", "probes/execsnoop.yaml"], process.cwd(), env);
    expect(bundled.exitCode, bundled.stderr).toBe(0);
  });

  it("exits 1 and reports every error at file:line:column with a code frame, no stack trace", async () => {
    const r = await probegen(["check", "good.yaml", "typo.yaml", "badfilter.yaml", "notyaml.yaml"], scratch, env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("typo.yaml:4:19: error: 'filenme' is not a value of tracepoint syscalls/sys_enter_openat. Did you mean 'filename'?");
    expect(r.stderr).toContain("  4 |     fields: [pid, filenme]");
    expect(r.stderr).toMatch(/\n\s+\|\s+\^{7}\n/);
    expect(r.stderr).toMatch(/badfilter\.yaml:4:13: error: filter: /);
    expect(r.stderr).toMatch(/notyaml\.yaml:\d+:\d+: error: /);
    expect(r.stderr).toContain("✓ good.yaml");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain("\x1b["); // not a terminal: no colour
  });

  it("--json gives the same diagnostics as data", async () => {
    const r = await probegen(["check", "--json", "good.yaml", "typo.yaml"], scratch, env);
    expect(r.exitCode).toBe(1);
    const results = JSON.parse(r.stdout);
    expect(results).toHaveLength(2);
    expect(results[0]).toEqual({ spec: "good.yaml", ok: true, diagnostics: [] });
    expect(results[1]).toMatchObject({ spec: "typo.yaml", ok: false });
    expect(results[1].diagnostics[0]).toMatchObject({ severity: "error", code: "unknown-name", span: { file: "typo.yaml", line: 4, column: 19 } });
  });

  it("usage errors exit 2", async () => {
    expect((await probegen(["check"], scratch, env)).exitCode).toBe(2);
    expect((await probegen(["check", "--frob", "good.yaml"], scratch, env)).exitCode).toBe(2);
  });
});
