/** The CLI is a client of the public API: it imports the compiler, the kernel and the runtime by their entry points only. */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("the CLI's imports", () => {
  it("reach into src/ only through compiler/index, kernel/index and runtime/index", () => {
    const deep = readdirSync("src/cli").filter((f) => f.endsWith(".ts")).flatMap((f) =>
      [...readFileSync(`src/cli/${f}`, "utf8").matchAll(/from "(\.\.\/[^"]+)"/g)].map((m) => `${f}: ${m[1]}`)
        .filter((line) => !/: \.\.\/(compiler|kernel|runtime)\/index\.js$/.test(line)));
    expect(deep).toEqual([]);
  });
});
