/**
 * The package as a user gets it: `npm pack` (prepack builds dist/), `npm install` of the tarball
 * into a fresh app outside the repository (the install script builds the addon), then in that app
 * `npx probegen build` of a spec, strict tsc over the generated loader (NodeNext and Bundler
 * resolution), and a run that sees the app's own open(2).
 *
 * The app's lockfile pins probegen's dependencies to this repository's locked versions, so npm
 * finds every tarball in its cache (`npm ci` put them there) and never needs the registry's
 * package lists: the install works offline, on a fresh CI machine too.
 */
import { execa } from "execa";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const repo = resolve(".");
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
const support = await bpfSupport();
skipNote(support, "install/pack.test.ts");

const work = mkdtempSync(join(tmpdir(), "probegen-pack-"));
const app = join(work, "app");
const tarball = join(work, `probegen-${manifest.version}.tgz`);
const env = { NO_COLOR: "1", JOBS: "max", PROBEGEN_CACHE_DIR: join(work, "build-cache") };
const run = (file: string, args: string[], cwd = app) => execa(file, args, { cwd, env, reject: false, all: true, timeout: 240_000 });
let tarballFiles: string[] = [];

/** The app's strict settings, with one module resolution; every .ts file of the app and its generated loaders. */
const tsconfig = (resolution: Record<string, unknown>) => ({
  compilerOptions: { target: "ES2022", strict: true, noUncheckedIndexedAccess: true, types: ["node"], ...resolution },
  include: ["*.ts", "generated"],
});

/** A lockfile for an app that depends on nothing yet, holding this repo's versions of probegen's dependencies and @types/node. */
function seedApp(): void {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
  const typesNode = { "@types/node": lock.packages["node_modules/@types/node"].version as string };
  const packages: Record<string, unknown> = { "": { name: "app", devDependencies: typesNode } };
  for (const [path, entry] of Object.entries<{ dev?: boolean }>(lock.packages)) {
    if (path && (!entry.dev || /^node_modules\/(@types\/node|undici-types)$/.test(path))) packages[path] = entry;
  }
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", devDependencies: typesNode }, null, 2));
  writeFileSync(join(app, "package-lock.json"), JSON.stringify({ name: "app", lockfileVersion: 3, requires: true, packages }, null, 2));
}

beforeAll(async () => {
  const pack = await run("npm", ["pack", "--pack-destination", work], repo);
  expect(pack.exitCode, pack.all).toBe(0);
  tarballFiles = (await execa("tar", ["tzf", tarball])).stdout.split("\n").map((f) => f.replace(/^package\//, ""));
  seedApp();
  const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball]);
  expect(install.exitCode, install.all).toBe(0);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig({ module: "NodeNext", moduleResolution: "NodeNext", outDir: "out" })));
  writeFileSync(join(app, "tsconfig.bundler.json"), JSON.stringify(tsconfig({ module: "Preserve", moduleResolution: "Bundler", noEmit: true })));
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed package", () => {
  it("holds dist, the schema, the template, the native sources, the probes and the docs; no tests, bench or CI", () => {
    for (const file of [
      "bin/probegen.js", "dist/src/cli/main.js", "dist/src/runtime/index.js", "dist/src/runtime/index.d.ts",
      "dist/src/compiler/index.js", "dist/src/compiler/index.d.ts", "schemas/probe.schema.json",
      "templates/probe.bpf.c.hbs", "binding.gyp", "src/runtime/native/addon.cc", "src/runtime/native/common.h",
      "probes/opensnoop.yaml", "docs/spec.md", "README.md",
    ]) expect(tarballFiles, file).toContain(file);
    const unwanted = tarballFiles.filter((f) => /^(test|bench|examples|generated|\.ci|scripts|build)\/|^dist\/(test|bench|examples|generated)\/|^src\/(?!runtime\/native\/|runtime\/API\.md)|^tsconfig|^vitest/.test(f));
    expect(unwanted).toEqual([]);
  });

  it("has a types and a default file in the tarball for every export", () => {
    for (const [name, target] of Object.entries<string | { types: string; default: string }>(manifest.exports)) {
      if (typeof target === "string") continue; // ./package.json
      expect(target.types, name).toMatch(/\.d\.ts$/);
      for (const file of [target.types, target.default]) expect(tarballFiles, `${name}: ${file}`).toContain(file.replace(/^\.\//, ""));
    }
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
});
