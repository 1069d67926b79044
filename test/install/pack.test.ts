/**
 * The packages as a user gets them: `npm pack` of probegen (the compiler and CLI; prepack builds
 * dist/) and of @probegen/runtime (prepack compiles its dist/ and the prebuilt addon), installed
 * into a fresh app outside the repository the way bpf2go is used: the runtime as a dependency,
 * probegen as a devDependency. In that app: `npx probegen build` of a spec, strict tsc over the
 * generated loader (NodeNext and Bundler resolution), and a run that sees the app's own open(2)
 * through the prebuilt addon (nothing was compiled at install, and libbpf is linked into it);
 * the app's production dependencies hold none of the compiler's.
 *
 * The app's lockfile pins the packages' dependencies to this repository's locked versions, so npm
 * finds every tarball in its cache (`npm ci` put them there) and never needs the registry's
 * package lists: the install works offline, on a fresh CI machine too.
 */
import { execa } from "execa";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const repo = resolve(".");
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const runtimeManifest = JSON.parse(readFileSync(join(repo, "packages", "runtime", "package.json"), "utf8"));
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
const support = await bpfSupport();
skipNote(support, "install/pack.test.ts");

const work = mkdtempSync(join(tmpdir(), "probegen-pack-"));
const app = join(work, "app");
const tarball = join(work, `probegen-${manifest.version}.tgz`);
const runtimeTarball = join(work, `probegen-runtime-${runtimeManifest.version}.tgz`);
/** The installed runtime, and the addon it should load: the prebuilt one, found by node-gyp-build. */
const installedRuntime = join(app, "node_modules", "@probegen", "runtime");
const prebuilt = join(installedRuntime, "prebuilds", "linux-x64", "probegen_native.napi.glibc.node");
/** What only the compiler needs: none of it may reach an app's production dependencies. */
const compilerOnly = ["ts-morph", "handlebars", "ajv", "execa", "yaml"];
const env = { NO_COLOR: "1", JOBS: "max", PROBEGEN_CACHE_DIR: join(work, "build-cache") };
const run = (file: string, args: string[], cwd = app, extraEnv: Record<string, string> = {}) =>
  execa(file, args, { cwd, env: { ...env, ...extraEnv }, reject: false, all: true, timeout: 240_000 });
const files = async (tgz: string) => (await execa("tar", ["tzf", tgz])).stdout.split("\n").map((f) => f.replace(/^package\//, ""));
let tarballFiles: string[] = [];
let runtimeFiles: string[] = [];

/** The app's strict settings, with one module resolution; every .ts file of the app and its generated loaders. */
const tsconfig = (resolution: Record<string, unknown>) => ({
  compilerOptions: { target: "ES2022", strict: true, noUncheckedIndexedAccess: true, types: ["node"], ...resolution },
  include: ["*.ts", "generated"],
});

/**
 * An app that depends on the runtime and, for development, on probegen, both from their tarballs;
 * its lockfile holds this repo's locked versions of their dependencies and of @types/node.
 */
function seedApp(): void {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
  const devDependencies = { probegen: `file:${tarball}`, "@types/node": lock.packages["node_modules/@types/node"].version as string };
  const dependencies = { "@probegen/runtime": `file:${runtimeTarball}` };
  const packages: Record<string, unknown> = { "": { name: "app", dependencies, devDependencies } };
  for (const [path, entry] of Object.entries<{ dev?: boolean; link?: boolean }>(lock.packages)) {
    if (!path.startsWith("node_modules/") || entry.link) continue; // the repo itself and its workspace
    if (!entry.dev || /^node_modules\/(@types\/node|undici-types)$/.test(path)) packages[path] = entry;
  }
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies, devDependencies }, null, 2));
  writeFileSync(join(app, "package-lock.json"), JSON.stringify({ name: "app", lockfileVersion: 3, requires: true, packages }, null, 2));
}

beforeAll(async () => {
  for (const workspace of [[], ["--workspace", "packages/runtime"]]) {
    const pack = await run("npm", ["pack", ...workspace, "--pack-destination", work], repo);
    expect(pack.exitCode, pack.all).toBe(0);
  }
  tarballFiles = await files(tarball);
  runtimeFiles = await files(runtimeTarball);
  seedApp();
  const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"]);
  expect(install.exitCode, install.all).toBe(0);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig({ module: "NodeNext", moduleResolution: "NodeNext", outDir: "out" })));
  writeFileSync(join(app, "tsconfig.bundler.json"), JSON.stringify(tsconfig({ module: "Preserve", moduleResolution: "Bundler", noEmit: true })));
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed packages", () => {
  it("probegen holds dist, the schema, the template, the probes and the docs; no native sources, tests, bench or CI", () => {
    for (const file of [
      "bin/probegen.js", "dist/src/cli/main.js", "dist/src/probegen-runtime.js", "dist/src/probegen-runtime.d.ts",
      "dist/src/compiler/index.js", "dist/src/compiler/index.d.ts", "schemas/probe.schema.json",
      "templates/probe.bpf.c.hbs", "probes/opensnoop.yaml", "docs/spec.md", "README.md",
    ]) expect(tarballFiles, file).toContain(file);
    const unwanted = tarballFiles.filter((f) => /^(test|bench|examples|generated|\.ci|scripts|build|packages|prebuilds)\/|^dist\/(test|bench|examples|generated)\/|^src\/(?!runtime\/API\.md)|^tsconfig|^vitest|^binding\.gyp/.test(f));
    expect(unwanted).toEqual([]);
  });

  it("@probegen/runtime holds its dist, the prebuilt addon for linux-x64 and the native sources to build elsewhere; nothing else", () => {
    for (const file of [
      "dist/runtime/index.js", "dist/runtime/index.d.ts", "dist/elf/elf-file.js", "prebuilds/linux-x64/probegen_native.napi.glibc.node", "binding.gyp",
      "src/runtime/native/addon.cc", "src/runtime/native/common.h", "install.cjs", "README.md", "API.md",
    ]) expect(runtimeFiles, file).toContain(file);
    const unwanted = runtimeFiles.filter((f) => !/^(dist\/(runtime|elf)\/([\w-]+\/)?[\w-]+\.(js|d\.ts|js\.map)|prebuilds\/linux-x64\/[\w.]+\.node|src\/runtime\/native\/[\w-]+\.(cc|c|h)|binding\.gyp|install\.cjs|package\.json|README\.md|API\.md)$/.test(f));
    expect(unwanted).toEqual([]);
  });

  it("each has a types and a default file in its tarball for every export", () => {
    for (const [pkg, inTarball] of [[manifest, tarballFiles], [runtimeManifest, runtimeFiles]] as const) {
      for (const [name, target] of Object.entries<string | { types: string; default: string }>(pkg.exports)) {
        if (typeof target === "string") continue; // ./package.json
        expect(target.types, name).toMatch(/\.d\.ts$/);
        for (const file of [target.types, target.default]) expect(inTarball, `${pkg.name} ${name}: ${file}`).toContain(file.replace(/^\.\//, ""));
      }
    }
  });

  it("installs the runtime with its prebuilt addon, libbpf linked in: nothing was compiled", async () => {
    expect(existsSync(join(installedRuntime, "build")), "a build/ directory: the install compiled the addon").toBe(false);
    const loads = await run("node", ["-p", `require("node-gyp-build").resolve(${JSON.stringify(installedRuntime)})`]);
    expect(loads.stdout).toBe(prebuilt);
    const needs = await run("ldd", [prebuilt]);
    expect(needs.exitCode, needs.all).toBe(0);
    expect(needs.stdout).not.toMatch(/libbpf|libelf|libz\./);
  });

  it("keeps the compiler out of the app's production dependencies", async () => {
    const ls = await run("npm", ["ls", "--omit=dev", "--all", "--parseable"]);
    const production = ls.stdout.split("\n").filter((p) => p.startsWith(join(app, "node_modules"))).map((p) => relative(join(app, "node_modules"), p));
    expect(production).toContain("@probegen/runtime");
    for (const name of compilerOnly) expect(production, name).not.toContain(name);
    const all = (await run("npm", ["ls", "--all", "--parseable"])).stdout;
    expect(all, "probegen (a devDependency) brings the compiler").toContain(join(app, "node_modules", "ts-morph"));
  });

  it("names what a build from source lacks where no prebuilt addon fits", async () => {
    // linux-arm64 has no prebuild; a PATH with node alone has no compiler, make or pkg-config.
    const bin = join(work, "bare-bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, "node"));
    const install = await run(process.execPath, ["install.cjs"], installedRuntime, { npm_config_arch: "arm64", PATH: bin });
    expect(install.exitCode).toBe(1);
    expect(install.stderr).toContain("@probegen/runtime: no prebuilt addon for linux-arm64, and building it from source needs what this machine lacks:");
    for (const tool of ["a C++ compiler (g++)", "make", "pkg-config"]) expect(install.stderr).toContain(`  - ${tool}`);
    expect(install.stderr).toContain("apt-get install g++ make python3 pkg-config libbpf-dev");
  });

  it("installs with a working CLI, and a compiler API an app script can call", async () => {
    const version = await run("npx", ["probegen", "--version"]);
    expect(version.all).toBe(manifest.version);

    writeFileSync(join(app, "check-specs.ts"), `
import { check, formatDiagnostic } from "probegen/compiler";

const results = await check(process.argv.slice(2));
for (const d of results.flatMap((r) => r.diagnostics)) console.log(formatDiagnostic(d));
`);
    writeFileSync(join(app, "broken.yaml"), "name: broken\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    colour: red\n");
    const compiled = await run("node", [tsc, "-p", "tsconfig.json"]);
    expect(compiled.all).toBe("");
    const checked = await run("node", ["out/check-specs.js", "broken.yaml"]);
    expect(checked.exitCode, checked.all).toBe(0);
    expect(checked.stdout).toMatch(/^broken\.yaml:4:5: error: .*colour/m);
  }, 120_000);
});

describe.skipIf(!support.ok)("an app that installed the package", () => {
  it("builds a spec with npx probegen, type-checks its loader (NodeNext and Bundler) and sees a real open", async () => {
    mkdirSync(join(app, "probes"));
    writeFileSync(join(app, "probes", "opens.yaml"), [
      "# yaml-language-server: $schema=../node_modules/probegen/schemas/probe.schema.json",
      "name: opens",
      "programs:",
      "  - attach: tracepoint/syscalls/sys_enter_openat",
      "    event: open",
      "    fields: [pid, comm, filename]",
      "",
    ].join("\n"));
    const build = await run("npx", ["probegen", "build", "probes/opens.yaml"]);
    expect(build.exitCode, build.all).toBe(0);

    writeFileSync(join(app, "main.ts"), `
import { closeSync, openSync, writeFileSync } from "node:fs";
import { loadOpens, type OpenEvent } from "./generated/opens.js";

const path = process.argv[2]!;
writeFileSync(path, "x");
using probe = await loadOpens();
const seen = new Promise<OpenEvent>((resolve) => {
  probe.events.on((ev) => {
    if (ev.filename === path && ev.pid === process.pid) resolve(ev);
  });
});
closeSync(openSync(path, "r"));
const ev = await seen;
console.log(JSON.stringify({ pid: ev.pid, comm: ev.comm, filename: ev.filename }));
`);
    const bundler = await run("node", [tsc, "-p", "tsconfig.bundler.json"]);
    expect(bundler.all).toBe("");
    const nodeNext = await run("node", [tsc, "-p", "tsconfig.json"]);
    expect(nodeNext.all).toBe("");

    const known = join(work, "known-file");
    const child = run("node", ["out/main.js", known]);
    const main = await child;
    expect(main.exitCode, main.all).toBe(0);
    expect(JSON.parse(main.stdout)).toEqual({ pid: child.pid, comm: "node", filename: known });
  }, 120_000);

  it("runs the spec with npx probegen run: the CLI's runtime loads @probegen/runtime's prebuilt addon", async () => {
    const probe = await run("npx", ["probegen", "run", "probes/opens.yaml", "--duration", "1s"]); // the spec of the test above
    expect(probe.exitCode, probe.all).toBe(0);
    expect(probe.stderr).toContain("Detached (duration over).");
  }, 120_000);
});
