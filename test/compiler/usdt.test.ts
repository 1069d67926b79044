/**
 * usdt/PATH:PROVIDER:NAME at build time: the probe found in the file's notes, its arguments
 * typed from them, and every mistake reported at the attach text with what the file has.
 */
import { execFileSync } from "node:child_process";
import { realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attachKind } from "../../src/compiler/attach/index.js";
import { matchAttach } from "../../src/compiler/index.js";
import { fixtureKernel, frontEnd, located } from "../helpers/compile.js";
import { buildUsdtTarget } from "../helpers/usdt-target.js";

const target = buildUsdtTarget();
afterAll(() => "dir" in target && rmSync(target.dir, { recursive: true, force: true }));
if ("skip" in target) console.log(`skipped test/compiler/usdt.test.ts: ${target.skip}`);
const path = "path" in target ? target.path : "";

const spec = (attach: string, fields: string) => `name: t\nprograms:\n  - attach: ${attach}\n    fields: [${fields}]\n`;

describe.skipIf("skip" in target)("usdt attach points", () => {
  it("types arguments from the notes, reads them with bpf_usdt_arg, and attaches by a typed descriptor", () => {
    const { probe, diagnostics } = frontEnd(spec(`usdt/${path}:pgtest:values`, "arg0, arg1, arg2, arg3, { name: text, from: arg4, type: user_string }, arg5"));
    expect(diagnostics).toEqual([]);
    const [program] = probe!.programs;
    expect(program!.name).toBe("pgtest_values");
    expect(program!.section).toBe(`usdt/${path}:pgtest:values`);
    expect(program!.event!.fields.map((f) => [f.name, f.type.kind === "int" ? `${f.type.signed ? "i" : "u"}${f.type.size * 8}` : f.type.kind]))
      .toEqual([["arg0", "i32"], ["arg1", "u64"], ["arg2", "i16"], ["arg3", "u8"], ["text", "string"], ["arg5", "i64"]]);
  });

  it("a probe the file lacks: did you mean, and the probes it has, at the attach text", () => {
    const { diagnostics } = frontEnd(spec(`usdt/${path}:pgtest:valeus`, "pid"));
    expect(located(diagnostics)).toEqual([`probes/test.yaml:3:13: ${path} has no USDT probe 'pgtest:valeus'. Did you mean 'pgtest:values'?`]);
    expect(diagnostics[0]!.hint).toBe("its probes: pgtest:values, pgtest:noargs, pgtest:guarded");
  });

  it("an argument the probe does not have names how many it has", () => {
    const many = frontEnd(spec(`usdt/${path}:pgtest:guarded`, "arg1"));
    expect(located(many.diagnostics)[0]).toMatch(/^probes\/test\.yaml:4:\d+: .*'arg1'/);
    expect(many.diagnostics[0]!.hint).toBe("USDT probe pgtest:guarded has 1 argument: arg0");
    const none = frontEnd(spec(`usdt/${path}:pgtest:noargs`, "arg0"));
    expect(none.diagnostics[0]!.hint).toBe("USDT probe pgtest:noargs has no arguments");
  });

  it("a file that is missing, has no probes, or a target without PROVIDER:NAME", () => {
    const missing = frontEnd(spec(`usdt/${path}-gone:pgtest:values`, "pid"));
    expect(located(missing.diagnostics)).toEqual([`probes/test.yaml:3:13: no file ${path}-gone.`]);
    const bare = frontEnd(spec("usdt//bin/true:pgtest:values", "pid"));
    const real = realpathSync("/bin/true"); // /usr/bin/true where /bin is a link
    expect(located(bare.diagnostics)).toEqual([`probes/test.yaml:3:13: /bin/true${real === "/bin/true" ? "" : ` (${real})`} has no USDT probes (no .note.stapsdt notes)`]);
    const short = frontEnd(spec(`usdt/${path}:values`, "pid"));
    expect(located(short.diagnostics)).toEqual([`probes/test.yaml:3:13: 'usdt/${path}:values' is not usdt/PATH:PROVIDER:NAME`]);
  });

  it("a program on PATH: named as written, attached where it was found; a wrapper script there is not the binary", () => {
    const dir = (target as { dir: string }).dir;
    writeFileSync(join(dir, "pgscript"), "#!/bin/sh\nexec true\n", { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    try {
      const { probe, diagnostics } = frontEnd(spec("usdt/pgtest:pgtest:values", "arg0"));
      expect(diagnostics).toEqual([]);
      const [program] = probe!.programs;
      expect(program!.section).toBe("usdt/pgtest:pgtest:values");
      expect(program!.attach).toMatchObject({ kind: "usdt", file: "pgtest", path });
      // The file found is in the C (a comment): a build cache keyed by the C misses when PATH leads elsewhere.
      expect(attachKind(program!.attach).title(program!.attach)).toBe(`usdt pgtest:values in pgtest (${path})`);
      const script = frontEnd(spec("usdt/pgscript:pgtest:values", "arg0"));
      expect(located(script.diagnostics)).toEqual([`probes/test.yaml:3:13: cannot read the USDT probes of 'pgscript': ${dir}/pgscript is not an ELF file`]);
      expect(script.diagnostics[0]!.hint).toBe("name the ELF executable or library by its path (e.g. /usr/bin/python3)");
    } finally {
      process.env.PATH = saved;
    }
  });

  it("a probe whose argument libbpf cannot read (a global, rip-relative) is refused at build", () => {
    const dir = (target as { dir: string }).dir;
    writeFileSync(join(dir, "global.c"), "#include <sys/sdt.h>\nint counter = 7;\nint main(void) { STAP_PROBE1(pgtest, global, counter); return 0; }\n");
    execFileSync("gcc", ["-O2", "-o", join(dir, "global"), join(dir, "global.c")]);
    const { diagnostics } = frontEnd(spec(`usdt/${dir}/global:pgtest:global`, "arg0"));
    expect(located(diagnostics)).toEqual([`probes/test.yaml:3:13: USDT probe 'pgtest:global' of ${dir}/global has an argument at '-4@counter(%rip)', which libbpf cannot read, so it cannot attach the probe`]);
  });

  it("a glob over PROVIDER:NAME lists the file's probes (probegen list 'usdt/PATH:*'), and a program per match", () => {
    expect(matchAttach(`usdt/${path}:*`, fixtureKernel)).toEqual({ matches: ["guarded", "noargs", "values"].map((n) => `usdt/${path}:pgtest:${n}`) });
    expect(matchAttach(`usdt/${path}:pgtest:v*`, fixtureKernel)).toEqual({ matches: [`usdt/${path}:pgtest:values`] });
    const { probe, diagnostics } = frontEnd(spec(`usdt/${path}:pgtest:{values,guarded}`, "pid, probe").replace("    fields:", "    event: fired\n    fields:"));
    expect(diagnostics).toEqual([]);
    expect(probe!.programs.map((p) => p.name)).toEqual(["pgtest_guarded", "pgtest_values"]);
    expect(probe!.attachPoints).toEqual([`usdt/${path}:pgtest:guarded`, `usdt/${path}:pgtest:values`]);
  });
});
