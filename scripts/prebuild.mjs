#!/usr/bin/env node
// Makes the prebuilt addon that @probegen/runtime ships for linux-x64 (glibc):
// prebuilds/linux-x64/probegen_native.napi.glibc.node, compiled here from binding.gyp's sources
// with libbpf, libelf and zlib linked statically, so that it loads on machines that have none of
// them (and nothing is compiled when the package is installed). Never downloaded: built from
// this repository and Debian's libbpf-dev, libelf-dev and zlib1g-dev.
//
// Usage (npm runs it through scripts/pack-runtime.mjs, with npm's node-gyp):
//   node scripts/prebuild.mjs DIR     DIR holds binding.gyp and the native sources it names
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ADDON = "probegen_native.napi.glibc.node";
/** Libraries the prebuilt addon must not need at run time. */
const LINKED_IN = /\b(libbpf|libelf|libz)\.so/;

function die(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

/** The static archive of a pkg-config module, from its libdir. */
function archive(module, file, debianPackage) {
  const found = spawnSync("pkg-config", ["--variable=libdir", module], { encoding: "utf8" });
  const path = found.status === 0 ? join(found.stdout.trim(), file) : undefined;
  if (!path || !existsSync(path)) die(`${file} not found (pkg-config ${module}); on Debian: apt-get install ${debianPackage}`);
  return path;
}

const dir = resolve(process.argv[2] ?? die("usage: node scripts/prebuild.mjs DIR"));
if (process.platform !== "linux" || process.arch !== "x64") die(`the prebuilt addon is made on linux-x64, not ${process.platform}-${process.arch}`);
const nodeGyp = process.env.npm_config_node_gyp ?? die("run through npm (npm pack), which provides node-gyp");

const libbpf = archive("libbpf", "libbpf.a", "libbpf-dev");
archive("libelf", "libelf.a", "libelf-dev"); // linked by name (-lelf) under -Bstatic
archive("zlib", "libz.a", "zlib1g-dev");

// libbpf.a is compiled for executables: its one reference to a C library variable (stderr)
// cannot be linked into a shared object. A copy names a pointer that static-libs.c defines.
const work = mkdtempSync(join(tmpdir(), "probegen-prebuild-"));
try {
  const patched = join(work, "libbpf.a");
  execFileSync("objcopy", ["--redefine-sym", "stderr=probegen_libbpf_stderr", libbpf, patched]);
  const build = spawnSync(process.execPath, [nodeGyp, "rebuild", `--libbpf_archive=${patched}`], {
    cwd: dir, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, JOBS: process.env.JOBS ?? "max" },
  });
  if (build.status !== 0) die(`node-gyp failed (exit ${build.status ?? build.signal})`);

  const built = join(dir, "build", "Release", "probegen_native.node");
  const needs = execFileSync("ldd", [built], { encoding: "utf8" });
  if (LINKED_IN.test(needs)) die(`the addon still needs a shared ${needs.match(LINKED_IN)[0]}:\n${needs}`);
  const out = join(dir, "prebuilds", "linux-x64");
  mkdirSync(out, { recursive: true });
  // Its static symbol table is for debugging the build; the loader needs only the dynamic one.
  execFileSync("strip", ["--strip-unneeded", "-o", join(out, ADDON), built]);
  console.error(`prebuild: ${join(out, ADDON)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(join(dir, "build"), { recursive: true, force: true });
}
