#!/usr/bin/env node
// The CLI lives in dist/: `npm run build` compiles it in a clone; `npm pack` builds it (prepack),
// so an installed package always has it.
import { existsSync } from "node:fs";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "probegen is not built: dist/src/cli/main.js is missing.\n" +
      "  In a clone of probegen, run `npm run build`; an installed package ships it, so reinstall probegen.\n",
  );
  process.exit(70);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
