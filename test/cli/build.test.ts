/** The real CLI, as a subprocess: what a user types and what they see. */
import { execa } from "execa";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureTracefs } from "./helpers/compile.js";

const bin = resolve("bin/probegen.js");
const probegen = (args: string[], cwd = process.cwd(), env: Record<string, string> = {}) =>
  execa("node", [bin, ...args], { cwd, reject: false, env: { NO_COLOR: "1", ...env } });

const scratch = mkdtempSync(join(tmpdir(), "probegen-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("probegen build", () => {
  it("generated/ is exactly what building probes/*.yaml gives now", async () => {
    const specs = ["probes/execsnoop.yaml", "probes/openat2.yaml", "probes/opensnoop.yaml"];
    const { exitCode, stderr } = await probegen(["build", "--check", ...specs]);
    expect(stderr).not.toContain("stale");
    expect(exitCode).toBe(0);
  });

  it("--check names stale files and exits 3; a build fixes them, byte-identically twice", async () => {
    const dir = join(scratch, "stale");
    mkdirSync(dir);
    cpSync("probes/opensnoop.yaml", join(dir, "probes/opensnoop.yaml"));
    const env = { PROBEGEN_TRACEFS: fixtureTracefs };
    let r = await probegen(["build", "probes/opensnoop.yaml"], dir, env);
    expect(r.exitCode).toBe(0);
    const first = readFileSync(join(dir, "generated/opensnoop.bpf.o"));
    r = await probegen(["build", "probes/opensnoop.yaml"], dir, env);
    expect(readFileSync(join(dir, "generated/opensnoop.bpf.o")).equals(first)).toBe(true);

    writeFileSync(join(dir, "probes/opensnoop.yaml"), readFileSync(join(dir, "probes/opensnoop.yaml"), "utf8").replace("      - flags\n", ""));
    r = await probegen(["build", "--check", "probes/opensnoop.yaml"], dir, env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("probes/opensnoop.yaml: stale: generated/opensnoop.bpf.c, generated/opensnoop.bpf.o, generated/opensnoop.ts");
    expect(r.stderr).toContain("run: probegen build probes/opensnoop.yaml");
  });

  it("a broken spec exits 1 with file:line:column, a code frame and a hint, and no stack trace", async () => {
    const spec = join(scratch, "broken.yaml");
    writeFileSync(spec, "name: broken\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_opennat\n    fields: [pid]\n");
    const r = await probegen(["build", "-o", join(scratch, "out"), "broken.yaml"], scratch, { PROBEGEN_TRACEFS: fixtureTracefs });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("broken.yaml:3:13: error: the kernel has no tracepoint 'syscalls/sys_enter_opennat'. Did you mean 'syscalls/sys_enter_openat'");
    expect(r.stderr).toContain("  3 |   - attach: tracepoint/syscalls/sys_enter_opennat");
    expect(r.stderr).toContain("hint:");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("--json prints diagnostics as data", async () => {
    const spec = join(scratch, "json.yaml");
    writeFileSync(spec, "name: j\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pidd]\n");
    const r = await probegen(["build", "--json", "-o", join(scratch, "out"), "json.yaml"], scratch, { PROBEGEN_TRACEFS: fixtureTracefs });
    expect(r.exitCode).toBe(1);
    const [result] = JSON.parse(r.stdout);
    expect(result).toMatchObject({ spec: "json.yaml", ok: false });
    expect(result.diagnostics[0]).toMatchObject({ code: "unknown-name", span: { file: "json.yaml", line: 4, column: 14 } });
  });

  it("a missing file is a clear error", async () => {
    const r = await probegen(["build", "nope.yaml"], scratch);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("cannot read nope.yaml: ENOENT");
  });

  it("usage errors exit 2; --help and --version exit 0", async () => {
    expect((await probegen(["frobnicate"])).exitCode).toBe(2);
    expect((await probegen(["build"])).exitCode).toBe(2);
    expect((await probegen(["build", "--nope", "x.yaml"])).stderr).toContain("Unknown option '--nope'");
    const help = await probegen(["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("probegen build [options] SPEC...");
    expect((await probegen(["--version"])).stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });
});
