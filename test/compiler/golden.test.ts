/**
 * Golden files: the C and TS generated from the fixture specs against fixture tracefs formats.
 * A change to the emitters shows up here as a reviewable diff. To accept one:
 *   UPDATE_GOLDEN=1 npx vitest run test/compiler/golden.test.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { fixtureKernel } from "../helpers/compile.js";

const specs = readdirSync("test/fixtures/specs").filter((f) => f.endsWith(".yaml"));
const out = "test/.out/golden";

describe.each(specs)("golden output of %s", (spec) => {
  it("matches test/golden and builds the same bytes twice", async () => {
    mkdirSync(out, { recursive: true });
    const build = () => buildSpecs([join("test/fixtures/specs", spec)], { outDir: out, kernel: fixtureKernel });
    const [first] = await build();
    expect(first!.diagnostics).toEqual([]);
    const [second] = await build();
    expect(second!.files.map((f) => Buffer.from(f.contents).toString("base64"))).toEqual(first!.files.map((f) => Buffer.from(f.contents).toString("base64")));
    for (const file of first!.files.filter((f) => !f.path.endsWith(".o"))) {
      const golden = join("test/golden", file.path.split("/").at(-1)!);
      const text = Buffer.from(file.contents).toString("utf8");
      if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, text);
      expect(text, `${golden} differs; if the change is intended, run with UPDATE_GOLDEN=1`).toBe(readFileSync(golden, "utf8"));
    }
  });
});
