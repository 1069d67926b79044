import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Generated loaders import "@probegen/runtime"; tests run the runtime from source.
    alias: { "@probegen/runtime": fileURLToPath(new URL("./src/runtime/index.ts", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Kernel tests attach real programs; running files one at a time keeps their events apart.
    fileParallelism: false,
    reporters: ["default", "./test/reporters/summary.ts"],
  },
});
