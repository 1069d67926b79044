#!/usr/bin/env node
// The CLI lives in dist/ (compiled by `npm run build`, which `npm ci` runs through `prepare`).
import { existsSync } from "node:fs";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("probegen is not built yet: run `npm run build` in its package directory.\n");
  process.exit(70);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
