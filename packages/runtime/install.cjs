// npm runs this when it installs @probegen/runtime. On linux-x64 with glibc the package carries
// a prebuilt addon (prebuilds/, libbpf linked in): it is loaded once to prove it works, and
// nothing is compiled. Anywhere else the addon is built from the sources here with node-gyp;
// what that needs and is missing is named before anything runs.
// `npm rebuild @probegen/runtime --build-from-source` builds from source on linux-x64 too.
"use strict";
const { spawnSync } = require("node:child_process");
const { accessSync, constants, existsSync } = require("node:fs");
const { delimiter, join } = require("node:path");
const nodeGypBuild = require("node-gyp-build");

const target = `${process.env.npm_config_platform || process.platform}-${process.env.npm_config_arch || process.arch}`;

/** Why the prebuilt addon cannot be used here, or undefined when it loads. */
function prebuiltProblem() {
  let path;
  try {
    path = nodeGypBuild.resolve(__dirname);
  } catch {
    return `no prebuilt addon for ${target}`;
  }
  try {
    require(path);
    return undefined;
  } catch (e) {
    return `the prebuilt addon does not load here (${e.message.split("\n")[0]})`;
  }
}

function onPath(command) {
  return (process.env.PATH || "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What a build from source needs and this machine lacks, in words a user can act on. */
function missingToolchain() {
  const missing = [];
  const cxx = process.env.CXX || "g++";
  if (!onPath(cxx)) missing.push(`a C++ compiler (${cxx})`);
  if (!onPath("make")) missing.push("make");
  if (!onPath("python3") && !onPath("python")) missing.push("python3 (node-gyp runs gyp with it)");
  if (!onPath("pkg-config")) missing.push("pkg-config");
  else {
    for (const [module, what] of [["libbpf", "libbpf's headers and library"], ["libelf", "libelf's"], ["zlib", "zlib's"]]) {
      if (spawnSync("pkg-config", ["--exists", module]).status !== 0) missing.push(`${what} (pkg-config ${module})`);
    }
  }
  return missing;
}

function fail(lines) {
  console.error(["", ...lines.map((line) => `@probegen/runtime: ${line}`), ""].join("\n"));
  process.exit(1);
}

const fromSource = process.env.npm_config_build_from_source === "true";
const problem = fromSource ? "--build-from-source was given" : prebuiltProblem();
if (problem === undefined) process.exit(0);

if ((process.env.npm_config_platform || process.platform) !== "linux") {
  // eBPF is Linux's: an app developed on another system installs the runtime for its types.
  console.warn(`@probegen/runtime: ${problem}; no addon is built on ${target}. Types and decoders work here; loading probes needs Linux.`);
  process.exit(0);
}

// A clone of the probegen repository holds no binding.gyp here: its root builds the addon.
if (!existsSync(join(__dirname, "binding.gyp"))) process.exit(0);

const missing = missingToolchain();
if (missing.length > 0) {
  fail([
    `${problem}, and building it from source needs what this machine lacks:`,
    ...missing.map((m) => `  - ${m}`),
    "Debian/Ubuntu: apt-get install g++ make python3 pkg-config libbpf-dev",
    "Fedora/RHEL:   dnf install gcc-c++ make python3 pkgconf-pkg-config libbpf-devel",
    "then run `npm rebuild @probegen/runtime`.",
  ]);
}

console.warn(`@probegen/runtime: ${problem}; building the addon from source (node-gyp).`);
// npm hands its own node-gyp to install scripts, by path and on PATH.
const nodeGyp = process.env.npm_config_node_gyp;
const build = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, "rebuild"], { cwd: __dirname, stdio: "inherit" })
  : spawnSync("node-gyp", ["rebuild"], { cwd: __dirname, stdio: "inherit" });
if (build.status !== 0) {
  fail([`building the addon from source failed (node-gyp, exit ${build.status ?? build.signal}); its output is above.`]);
}
