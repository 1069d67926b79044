/**
 * The CLI is a client of the public API: it imports the compiler, the kernel and the runtime by
 * their entry points only. The compiler has two: index, and build-api, the light part of it that
 * commands the build cache answers load alone (docs/performance.md, start); and main takes the
 * version from package-info, so that --help loads nothing else.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("the CLI's imports", () => {
  it("reach into src/ only through compiler/index, compiler/build-api, kernel/index and runtime/index", () => {
    const allowed = /: \.\.\/((compiler|kernel|runtime)\/index|compiler\/build-api)\.js$|^main\.ts: \.\.\/compiler\/package-info\.js$/;
    const deep = readdirSync("src/cli").filter((f) => f.endsWith(".ts")).flatMap((f) =>
      [...readFileSync(`src/cli/${f}`, "utf8").matchAll(/from "(\.\.\/[^"]+)"/g)].map((m) => `${f}: ${m[1]}`)
        .filter((line) => !allowed.test(line)));
    expect(deep).toEqual([]);
  });
});
