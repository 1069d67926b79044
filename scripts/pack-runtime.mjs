#!/usr/bin/env node
// `npm pack` of @probegen/runtime (packages/runtime) runs this as its prepack and postpack.
// The runtime is developed where it is, in src/runtime, with binding.gyp at the repository's
// root; the package is assembled from those same files:
//   prepack   copies binding.gyp, the native sources and API.md into the package, compiles
//             dist/ from src/runtime, and makes the prebuilt addon (scripts/prebuild.mjs);
//   postpack  removes the copies and the prebuilt addon again, so that in a clone the runtime
//             keeps loading the addon the root builds from the current sources.
import { cpSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "packages", "runtime");
const copies = ["binding.gyp", "src", "API.md"];

function run(args) {
  const done = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (done.status !== 0) process.exit(done.status ?? 1);
}

function clean() {
  for (const f of [...copies, "prebuilds", "build"]) rmSync(join(pkg, f), { recursive: true, force: true });
}

switch (process.argv[2]) {
  case "prepack":
    clean();
    rmSync(join(pkg, "dist"), { recursive: true, force: true });
    cpSync(join(root, "binding.gyp"), join(pkg, "binding.gyp"));
    cpSync(join(root, "src", "runtime", "native"), join(pkg, "src", "runtime", "native"), { recursive: true });
    cpSync(join(root, "src", "runtime", "API.md"), join(pkg, "API.md"));
    run([join(root, "node_modules", "typescript", "bin", "tsc"), "-p", pkg]);
    run([join(root, "scripts", "prebuild.mjs"), pkg]);
    break;
  case "postpack":
    clean();
    break;
  default:
    console.error("usage: node scripts/pack-runtime.mjs prepack|postpack");
    process.exit(2);
}
