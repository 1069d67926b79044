/**
 * The build manifest (cache.ts, direct mode) must never serve stale output: real builds in a
 * scratch directory, with their own cache, a copy of the tracefs fixture the test may edit, and
 * a clang that counts its compilations.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, BuildCache, check, runningKernel, type SpecResult } from "../../src/compiler/index.js";
import { headersIn } from "../../src/compiler/clang.js";
import { fixtureTracefs } from "../helpers/compile.js";

const scratch = mkdtempSync(join(tmpdir(), "pg-manifest-"));
const tracefs = join(scratch, "tracefs");
const cacheDir = join(scratch, "cache");
const outDir = join(scratch, "out");
const counter = join(scratch, "clang-calls");
const clang = join(scratch, "counting-clang");
const saved = { PROBEGEN_TRACEFS: process.env.PROBEGEN_TRACEFS, PROBEGEN_CLANG: process.env.PROBEGEN_CLANG };

/** A clang that counts the compilations it is asked for and answers --version as `version` says. */
function writeClang(version = ""): void {
  writeFileSync(clang, `#!/bin/sh
case " $* " in *" --version "*) ${version ? `echo '${version}'; exit 0` : ":"};; *" -c "*) echo compile >> '${counter}';; esac
exec clang "$@"
`);
  chmodSync(clang, 0o755);
}
const compilations = () => (existsSync(counter) ? readFileSync(counter, "utf8").split("\n").filter(Boolean).length : 0);

beforeAll(() => {
  cpSync(fixtureTracefs, tracefs, { recursive: true });
  writeClang();
  process.env.PROBEGEN_TRACEFS = tracefs;
  process.env.PROBEGEN_CLANG = clang;
});
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** One build as `probegen build` runs it: the running kernel (here, the tracefs copy) and a cache. */
async function buildOne(spec: string): Promise<SpecResult> {
  const [result] = await build([spec], { outDir, cache: new BuildCache(cacheDir), kernel: runningKernel() });
  return result!;
}

const openatSpec = (fields: string) => `name: opens
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    fields: [${fields}]
`;

describe("the build manifest", () => {
  it("answers a no-op build without the front end or clang, with the same bytes; a changed spec is built again", async () => {
    const spec = join(scratch, "opens.yaml");
    writeFileSync(spec, openatSpec("pid, filename"));
    const first = await buildOne(spec);
    expect(first.diagnostics).toEqual([]);
    expect(first.manifestHit).toBe(false);
    const compiled = compilations();
    const bytes = readFileSync(join(outDir, "opens.ts"));

    const again = await buildOne(spec);
    expect(again.manifestHit).toBe(true);
    expect(again.cached).toBe(true);
    expect(compilations()).toBe(compiled);
    expect(readFileSync(join(outDir, "opens.ts")).equals(bytes)).toBe(true);
    expect(again.probe!.name).toBe("opens"); // the IR comes back from the manifest too

    // The outputs deleted: the manifest still answers, from the content entry.
    rmSync(join(outDir, "opens.bpf.o"));
    const restored = await buildOne(spec);
    expect(restored.manifestHit).toBe(true);
    expect(readFileSync(join(outDir, "opens.bpf.o")).equals(Buffer.from(first.files[1]!.contents))).toBe(true);

    writeFileSync(spec, openatSpec("pid"));
    const changed = await buildOne(spec);
    expect(changed.manifestHit).toBe(false);
    expect(compilations()).toBe(compiled + 1);
    expect(readFileSync(join(outDir, "opens.ts"), "utf8")).not.toContain("filename");
  });

  it("a changed tracepoint format (a file the front end read) is built again, against the new layout", async () => {
    const spec = join(scratch, "layout.yaml");
    writeFileSync(spec, openatSpec("filename").replace("name: opens", "name: layout"));
    expect((await buildOne(spec)).manifestHit).toBe(false);
    expect((await buildOne(spec)).manifestHit).toBe(true);
    expect(readFileSync(join(outDir, "layout.bpf.c"), "utf8")).toContain("__builtin_offsetof(struct pg_ctx_syscalls__sys_enter_openat, filename) == 24");

    const format = join(tracefs, "events/syscalls/sys_enter_openat/format");
    const original = readFileSync(format, "utf8");
    // Same size, other offsets: what a kernel with another layout would print.
    writeFileSync(format, original.replace("filename;\toffset:24;", "filename;\toffset:32;").replace("flags;\toffset:32;", "flags;\toffset:24;"));
    try {
      const rebuilt = await buildOne(spec);
      expect(rebuilt.diagnostics).toEqual([]);
      expect(rebuilt.manifestHit).toBe(false);
      expect(readFileSync(join(outDir, "layout.bpf.c"), "utf8")).toContain("__builtin_offsetof(struct pg_ctx_syscalls__sys_enter_openat, filename) == 32");
    } finally {
      writeFileSync(format, original);
    }
  });

  it("check answers from the manifest, and checks again when a format it read changed", async () => {
    const spec = join(scratch, "checked.yaml");
    writeFileSync(spec, openatSpec("pid, filename").replace("name: opens", "name: checked"));
    const checkOne = async () => (await check([spec], { cache: new BuildCache(cacheDir), kernel: runningKernel() }))[0]!;
    expect((await checkOne()).manifestHit).toBe(false);
    const hit = await checkOne();
    expect(hit.manifestHit).toBe(true);
    expect(hit.diagnostics).toEqual([]);

    const format = join(tracefs, "events/syscalls/sys_enter_openat/format");
    const original = readFileSync(format, "utf8");
    writeFileSync(format, original.replace(/^\tfield:const char \* filename;.*\n/m, ""));
    try {
      const stale = await checkOne();
      expect(stale.manifestHit).toBe(false);
      expect(stale.diagnostics.map((d) => d.message).join("\n")).toContain("filename");
    } finally {
      writeFileSync(format, original);
    }
  });

  it("a rebuilt uprobe target is resolved again: a function it no longer has is an error, not a cached build", async () => {
    const dir = join(scratch, "uprobe");
    mkdirSync(join(dir, "bin"), { recursive: true });
    const compileApp = (fn: string) => {
      writeFileSync(join(dir, "app.c"), `int ${fn}(int x) { return x + 1; }\nint main(void) { return ${fn}(1); }\n`);
      execFileSync("gcc", ["-O0", "-o", join(dir, "bin", "app"), join(dir, "app.c")]);
    };
    compileApp("work");
    const spec = join(dir, "app.yaml");
    writeFileSync(spec, "name: app\nprograms:\n  - attach: uprobe/./bin/app:work\n    fields: [arg0]\n");
    expect((await buildOne(spec)).diagnostics).toEqual([]);
    expect((await buildOne(spec)).manifestHit).toBe(true);

    compileApp("labour");
    const rebuilt = await buildOne(spec);
    expect(rebuilt.manifestHit).toBe(false);
    expect(rebuilt.diagnostics.map((d) => d.message)).toEqual([`${join(dir, "bin", "app")} has no function 'work'.`]);
  });

  it("another clang (its file changed) is a miss; one with another version compiles again", async () => {
    const spec = join(scratch, "tools.yaml");
    writeFileSync(spec, openatSpec("pid").replace("name: opens", "name: tools"));
    await buildOne(spec);
    expect((await buildOne(spec)).manifestHit).toBe(true);
    const before = compilations();

    writeClang(); // the same script rewritten: new times, the same --version
    const sameVersion = await buildOne(spec);
    expect(sameVersion.manifestHit).toBe(false);
    expect(sameVersion.cached).toBe(true); // the content-hash level still knows these outputs
    expect(compilations()).toBe(before);

    writeClang("clang version 99.0.0 (a test)");
    const otherVersion = await buildOne(spec);
    expect(otherVersion.manifestHit).toBe(false);
    expect(otherVersion.cached).toBe(false);
    expect(compilations()).toBe(before + 1);
    writeClang();
  });

  it("gives back the IR the front end made, for every bundled spec", async () => {
    delete process.env.PROBEGEN_TRACEFS; // the bundled specs need the machine's tracefs
    try {
      const specs = ["execsnoop", "opensnoop", "syscount", "tcpstates", "runqlat", "profile"].map((n) => `probes/${n}.yaml`);
      const live = await check(specs, { kernel: runningKernel() });
      const cache = join(scratch, "ir-cache");
      await check(specs, { kernel: runningKernel(), cache: new BuildCache(cache) });
      const hits = await check(specs, { kernel: runningKernel(), cache: new BuildCache(cache) });
      // bigints stay bigints; btfTypes (the kernel's BTF, for the C emitter only) is not kept
      const comparable = (r: SpecResult) => JSON.parse(JSON.stringify({ ...r.probe, btfTypes: undefined }, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)));
      for (const [i, hit] of hits.entries()) {
        if (live[i]!.diagnostics.length) continue; // a spec this machine cannot resolve (reported by other tests)
        expect(hit.manifestHit, specs[i]).toBe(true);
        expect(isDeepStrictEqual(comparable(hit), comparable(live[i]!)), specs[i]).toBe(true);
      }
    } finally {
      process.env.PROBEGEN_TRACEFS = tracefs;
    }
  });
});

describe("headersIn", () => {
  it("reads the absolute prerequisites of clang's -MD rule", () => {
    expect(headersIn("out.o: probes/x.bpf.c /usr/include/linux/bpf.h \\\n  /usr/include/bpf/bpf_helpers.h /usr/include/linux/bpf.h\n"))
      .toEqual(["/usr/include/bpf/bpf_helpers.h", "/usr/include/linux/bpf.h"]);
  });
});

describe("probegen's identity in the manifest key", () => {
  it("covers every runtime module the compiler, kernel and ELF readers import", async () => {
    const { RUNTIME_MODULES_OF_THE_COMPILER } = await import("../../src/compiler/cache.js");
    const { readdirSync } = await import("node:fs");
    const imported = new Set<string>();
    for (const dir of ["src/compiler", "src/kernel", "src/elf"]) {
      for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (!f.isFile() || !f.name.endsWith(".ts")) continue;
        const text = readFileSync(join(f.parentPath, f.name), "utf8");
        for (const m of text.matchAll(/^import (?!type )[^;]*?from "(?:\.\.\/)+runtime\/([\w-]+)\.js"/gm)) imported.add(m[1]!);
      }
    }
    expect([...imported].sort()).toEqual([...RUNTIME_MODULES_OF_THE_COMPILER].sort());
  });
});
