/** The generated loaders, the examples and the tests type-check with the project's strict tsc settings. */
import { execa } from "execa";
import { expect, it } from "vitest";

it("tsc --noEmit over src, generated, examples and test reports nothing", async () => {
  const r = await execa("npx", ["tsc", "-p", "tsconfig.json", "--noEmit"], { reject: false });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
}, 120_000);
