/** The real CLI, as a subprocess: what a user types and what they see. */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureTracefs } from "../helpers/compile.js";
import { probegen, withoutField } from "./helpers.js";

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

    writeFileSync(join(dir, "probes/opensnoop.yaml"), withoutField(readFileSync(join(dir, "probes/opensnoop.yaml"), "utf8"), "flags"));
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
    for (const command of ["build", "check", "run", "list", "init", "stats"]) {
      const r = await probegen([command, "--help"]);
      expect(r.exitCode, command).toBe(0);
      expect(r.stdout, command).toContain(`Usage: probegen ${command}`);
    }
    expect((await probegen(["run", "--duration", "soon", "probes/opensnoop.yaml"])).exitCode).toBe(2);
    expect((await probegen(["--version"])).stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });
});

describe("the build cache", () => {
  // A clang that counts the compilations it is asked for, then runs the real one.
  const dir = join(scratch, "cache");
  const counter = join(dir, "clang-calls");
  const clang = join(dir, "counting-clang");
  mkdirSync(join(dir, "probes"), { recursive: true });
  writeFileSync(clang, `#!/bin/sh\ncase " $* " in *" -c "*) echo compile >> '${counter}';; esac\nexec clang "$@"\n`);
  chmodSync(clang, 0o755);
  const cacheDir = join(dir, "cache-store");
  const env = { PROBEGEN_TRACEFS: fixtureTracefs, PROBEGEN_CLANG: clang, PROBEGEN_CACHE_DIR: cacheDir };
  const compilations = () => (existsSync(counter) ? readFileSync(counter, "utf8").split("\n").filter(Boolean).length : 0);
  const specs = ["probes/execsnoop.yaml", "probes/opensnoop.yaml"];
  for (const s of specs) cpSync(s, join(dir, s));

  it("a no-op rebuild does not run clang and gives the same bytes; a changed spec is compiled again", async () => {
    let r = await probegen(["build", ...specs], dir, env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(compilations()).toBe(2);
    const first = readFileSync(join(dir, "generated/opensnoop.bpf.o"));

    r = await probegen(["build", ...specs], dir, env);
    expect(r.exitCode).toBe(0);
    expect(compilations()).toBe(2);
    expect(r.stderr).toContain("2 specs in");
    expect(r.stderr).toContain("(2 from the build cache, 0 compiled)");
    expect(readFileSync(join(dir, "generated/opensnoop.bpf.o")).equals(first)).toBe(true);

    r = await probegen(["build", "--check", ...specs], dir, env);
    expect(r.exitCode).toBe(0);
    expect(compilations()).toBe(2);

    writeFileSync(join(dir, specs[1]!), withoutField(readFileSync(join(dir, specs[1]!), "utf8"), "flags"));
    r = await probegen(["build", "--check", ...specs], dir, env);
    expect(r.exitCode).toBe(3); // the cache does not hide staleness
    expect(compilations()).toBe(3);
    r = await probegen(["build", ...specs], dir, env);
    expect(r.exitCode).toBe(0);
    expect(compilations()).toBe(3); // the --check run above cached it
    expect(readFileSync(join(dir, "generated/opensnoop.ts"), "utf8")).not.toContain("flags:");

    r = await probegen(["build", "--no-cache", ...specs], dir, env);
    expect(r.exitCode).toBe(0);
    expect(compilations()).toBe(5);
    expect(r.stderr).toContain("(cache off)");
  });

  it("a damaged cache entry is a miss, not wrong output", async () => {
    const { readdirSync } = await import("node:fs");
    for (const f of readdirSync(cacheDir, { recursive: true, withFileTypes: true })) {
      if (f.isFile()) writeFileSync(join(f.parentPath, f.name), "{ not json");
    }
    const before = compilations();
    const r = await probegen(["build", "--check", ...specs], dir, env);
    expect(r.exitCode).toBe(0);
    expect(compilations()).toBe(before + 2);
  });
});
