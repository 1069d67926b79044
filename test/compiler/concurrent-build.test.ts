/**
 * Two builds of different specs with the same `name:` into one directory at once: every output
 * file is wholly one build's or the other's, and the three files of the directory are one
 * build's (the .ts embeds the .bpf.o beside it). Outputs are written to a temporary file and
 * renamed into place, the three under a short lock.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { runningKernel } from "../../src/kernel/running.js";
import { BuildCache } from "../../src/compiler/cache.js";
import { bin } from "../cli/helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "probegen-concurrent-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const cacheDir = join(scratch, "cache");

const spec = (fields: string) => `name: same
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    fields: [${fields}]
`;
const specA = join(scratch, "a.yaml");
const specB = join(scratch, "b.yaml");
type Outputs = { c: Buffer; o: Buffer; ts: Buffer };
const expected: Record<"a" | "b", Outputs> = {} as never;
let kernel: ReturnType<typeof runningKernel>;

const read = (dir: string): Outputs => ({
  c: readFileSync(join(dir, "same.bpf.c")),
  o: readFileSync(join(dir, "same.bpf.o")),
  ts: readFileSync(join(dir, "same.ts")),
});

/** Which build wrote each file, and whether the .ts embeds the .bpf.o beside it. */
function provenance(dir: string): { c: string; o: string; ts: string; tsEmbedsObject: boolean } {
  const got = read(dir);
  const whose = (role: keyof Outputs) =>
    got[role].equals(expected.a[role]) ? "a" : got[role].equals(expected.b[role]) ? "b" : `torn (${got[role].length} bytes)`;
  const embedded = Buffer.from([...got.ts.toString().matchAll(/^\s+"([A-Za-z0-9+/=]+)"/gm)].map((m) => m[1]).join(""), "base64");
  return { c: whose("c"), o: whose("o"), ts: whose("ts"), tsEmbedsObject: embedded.equals(got.o) };
}

beforeAll(async () => {
  writeFileSync(specA, spec("pid, comm, filename"));
  writeFileSync(specB, spec("pid"));
  const cache = new BuildCache(cacheDir);
  kernel = runningKernel();
  for (const [which, path] of [["a", specA], ["b", specB]] as const) {
    const dir = join(scratch, `alone-${which}`);
    const [r] = await buildSpecs([path], { outDir: dir, cache, kernel });
    expect(r!.diagnostics).toEqual([]);
    expected[which] = read(dir);
  }
  expect(expected.a.ts.length).not.toBe(expected.b.ts.length); // a torn file would show
});

/**
 * Another process reading the outputs in a tight loop (an editor, a dev server importing the
 * loader) until `stop` exists; prints how many reads were wholly one build's and the sizes of
 * those that were not.
 */
const readerScript = `
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
const [dir, stop, ...wanted] = process.argv.slice(1);
const ok = new Set(wanted);
let whole = 0;
const torn = [];
while (!existsSync(stop)) {
  for (const f of ["same.bpf.c", "same.bpf.o", "same.ts"]) {
    let bytes;
    try { bytes = readFileSync(dir + "/" + f); } catch { continue; } // not written yet
    if (ok.has(createHash("sha256").update(bytes).digest("hex"))) whole++;
    else if (torn.length < 10) torn.push(f + ": " + bytes.length + " bytes");
  }
}
console.log(JSON.stringify({ whole, torn }));
`;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("concurrent builds into one directory", () => {
  it("builds started at once, read meanwhile by another process: no read sees a torn file, and the files are one build's", async () => {
    const dir = join(scratch, "together");
    const stop = join(scratch, "stop");
    const hashes = [expected.a, expected.b].flatMap((o) => [o.c, o.o, o.ts].map(sha));
    const reader = execa(process.execPath, ["--input-type=module", "-e", readerScript, dir, stop, ...hashes], { reject: false });
    try {
      for (let round = 0; round < 10; round++) {
        const options = { outDir: dir, cache: new BuildCache(cacheDir), kernel };
        await Promise.all([buildSpecs([specA], options), buildSpecs([specB], options)]);
        const p = provenance(dir);
        expect(p, `round ${round}`).toMatchObject({ tsEmbedsObject: true });
        expect([p.o, p.ts], `round ${round}`).toEqual([p.c, p.c]);
        expect(["a", "b"]).toContain(p.c);
      }
    } finally {
      writeFileSync(stop, "");
    }
    const seen = JSON.parse((await reader).stdout) as { whole: number; torn: string[] };
    expect(seen.torn).toEqual([]);
    expect(seen.whole).toBeGreaterThan(0);
    expect(readdirSync(dir).sort()).toEqual(["same.bpf.c", "same.bpf.o", "same.ts"]); // no temporary file or lock left
  });

  it("two probegen build processes started at once: every file is wholly one build's", async () => {
    for (let round = 0; round < 2; round++) {
      const dir = join(scratch, `processes-${round}`);
      mkdirSync(dir);
      const run = (s: string) => execa(process.execPath, [bin, "build", "-o", dir, s], { reject: false, env: { PROBEGEN_CACHE_DIR: cacheDir, NO_COLOR: "1" } });
      const results = await Promise.all([run(specA), run(specB)]);
      for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
      const p = provenance(dir);
      expect(p.tsEmbedsObject, `round ${round}`).toBe(true);
      expect([p.o, p.ts], `round ${round}`).toEqual([p.c, p.c]);
    }
  });
});
