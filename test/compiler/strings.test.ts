/**
 * String parameters and lists of strings in the compiler: what the front end accepts and refuses
 * (at the spec's line), the C it prints, the layout of a list, and the generated decoder reading
 * a list that C filled.
 */
import { execa } from "execa";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { emitC } from "../../src/compiler/emit-c.js";
import { fixtureKernel, frontEnd, located } from "../helpers/compile.js";

const spec = (programs: string, params = "") => `name: t\n${params ? `params:\n${params}` : ""}programs:\n${programs}`;
const openat = (more: string) => `  - attach: tracepoint/syscalls/sys_enter_openat\n${more}`;
const execve = (more: string) => `  - attach: tracepoint/syscalls/sys_enter_execve\n${more}`;
const commParam = `  comm: { type: "string[16]", default: "bash" }\n`;

describe("string parameters", () => {
  it("are typed string[N] with their default, and compare with strings by a bounded pg_streq", () => {
    const { probe, diagnostics } = frontEnd(spec(openat(`    filter: (params.comm == "" || comm == params.comm) && filename != params.comm\n    fields: [pid]\n`), commParam));
    expect(diagnostics).toEqual([]);
    expect(probe!.params).toMatchObject([{ name: "comm", tsName: "comm", type: { kind: "string", size: 16 }, default: "bash" }]);
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain('.comm = "bash",');
    expect(c).toContain("static __always_inline int pg_streq(");
    // comm is read onto the stack whole; the filename as far as the parameter's bytes and one more.
    expect(c).toContain("bpf_get_current_comm(pg_str0, 16);");
    expect(c).toContain("bpf_probe_read_user_str(pg_str1, 17, (const void *)ctx->filename);");
    expect(c).toContain("if (!(((pg_params.comm[0] == 0) || pg_streq(pg_str0, 16, pg_params.comm, 16)) && !pg_streq(pg_str1, 17, pg_params.comm, 16)))");
  });

  it("the helper is printed only when two string values are compared", () => {
    const { probe } = frontEnd(spec(openat(`    filter: comm == "bash"\n    fields: [pid]\n`), commParam));
    expect(emitC(probe!, "t.bpf.c")).not.toContain("pg_streq");
  });

  it("a default is escaped in C, and a parameter can be captured and used as a map key", () => {
    const { probe, diagnostics } = frontEnd(`name: t
params:
  tag: { type: "string[8]", default: "a\\"?\\\\b" }
maps:
  by_tag: { type: hash, key: "string[4]", value: u64 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    fields: [params.tag]
    update: [{ map: by_tag, key: params.tag, count: true, if: params.tag != "" }]
`);
    expect(diagnostics).toEqual([]);
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain(String.raw`.tag = "a\"\?\\b",`);
    expect(c).toContain("__builtin_memcpy(e->tag, (const void *)pg_params.tag, 8);");
    // cut to the key's 4 bytes, and terminated
    expect(c).toContain("__builtin_memcpy(pg_k, (const void *)pg_params.tag, 4); pg_k[3] = 0;");
  });

  it("refuses what cannot work, at the spec's line", () => {
    const cases: Array<[string, string]> = [
      [spec(openat("    fields: [pid]\n"), `  comm: { type: "string[16]", default: "a_command_too_long" }\n`),
        `probes/test.yaml:3:40: the default "a_command_too_long" takes 18 UTF-8 bytes, and a string[16] parameter holds at most 15 (and the terminating NUL)`],
      [spec(openat("    fields: [pid]\n"), `  comm: { type: "string[16]", default: 5 }\n`),
        "probes/test.yaml:3:40: the default of a string[16] parameter is a string, not 5"],
      [spec(openat("    fields: [pid]\n"), `  n: { type: u32, default: "5" }\n`),
        "probes/test.yaml:3:28: the default of a u32 parameter is a number, not a string"],
      [spec(openat("    fields: [pid]\n"), `  p: { type: "string[300]" }\n`),
        "probes/test.yaml:3:14: a string parameter holds at most 256 bytes, and this one asks for 300"],
      [spec(openat("    filter: params.comm + 1 > 2\n    fields: [pid]\n"), commParam),
        "probes/test.yaml:6:13: filter: strings can only be compared with == or !=, not '+'"],
      [spec(openat("    filter: params.comm == 5\n    fields: [pid]\n"), commParam),
        "probes/test.yaml:6:13: filter: cannot compare a string with a number"],
      [spec(openat("    filter: comm == params.comm\n    fields: [pid]\n    update: [{ map: m, key: pid, sum: params.comm }]\n"), commParam).replace("programs:", "maps:\n  m: { type: hash, key: u32, value: u64 }\nprograms:"),
        "probes/test.yaml:10:39: sum needs a number, and this is a string"],
      [spec(openat("    filter: comm == params.comm\n    fields: [{ name: c, from: params.comm, size: 8 }]\n"), commParam),
        "probes/test.yaml:7:50: 'params.comm' has a fixed size of 16 bytes"],
    ];
    for (const [text, message] of cases) expect(located(frontEnd(text).diagnostics), message).toEqual([message]);
  });
});

describe("lists of user strings (execve's argv)", () => {
  it("argv is a list with the default bounds, laid out with its count and truncation flag", () => {
    const { probe, diagnostics } = frontEnd(spec(execve("    fields: [pid, argv, { name: env, from: envp, count: 3, size: 10 }]\n")));
    expect(diagnostics).toEqual([]);
    const event = probe!.events[0]!;
    expect(event.fields.map((f) => [f.name, f.type])).toEqual([
      ["pid", { kind: "int", size: 4, signed: false }],
      ["argv", { kind: "string_list", count: 20, size: 128 }],
      ["env", { kind: "string_list", count: 3, size: 10 }],
    ]);
    expect(event.layout.members.map((m) => [m.name, m.offset])).toEqual([
      ["pid", 0], ["argv", 4], ["env", 2564], ["pg_n_argv", 2594], ["pg_more_argv", 2595], ["pg_n_env", 2596], ["pg_more_env", 2597],
    ]);
    expect(event.layout.size).toBe(2600);
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain("char argv[20][128];");
    expect(c).toContain('_Static_assert(__builtin_offsetof(struct pg_event_sys_enter_execve, pg_n_env) == 2596, "probegen layout: pg_event_sys_enter_execve.pg_n_env");');
    expect(c).toContain("bpf_probe_read_user_str(e->env[pg_i], 10, pg_s);");
    expect(c).toContain("if (e->pg_n_env == 3 && !bpf_probe_read_user(&pg_s, sizeof(pg_s), &pg_list[3]) && pg_s)");
  });

  it("refuses what a list cannot do, at the spec's line", () => {
    const cases: Array<[string, string]> = [
      [spec(execve("    fields: [{ name: a, from: argv, count: 128, size: 256 }]\n")),
        "probes/test.yaml:4:44: 'argv' would take 128 × 256 = 32768 bytes of every event; a list of strings takes at most 16384"],
      [spec(execve("    fields: [{ name: a, from: argv, size: 1 }]\n")),
        "probes/test.yaml:4:43: each string of 'argv' needs at least 2 bytes (a character and the NUL)"],
      [spec(execve("    fields: [{ name: a, from: argv, count: 129 }]\n")),
        "probes/test.yaml:4:44: 'programs.0.fields.0.count' must be <= 128"],
      [spec(execve("    fields: [{ name: f, from: filename, count: 4 }]\n")),
        "probes/test.yaml:4:48: 'count' bounds a list of strings (argv, envp), and 'filename' is string[256]"],
      [spec(execve("    filter: argv != 0\n    fields: [pid]\n")),
        "probes/test.yaml:4:13: filter: 'argv' is a list of strings, which only an event can carry"],
      [spec(execve("    fields: [{ name: a, from: argv, type: user_string }]\n")),
        "probes/test.yaml:4:31: 'argv' is 'const char *const *', a list of strings, and is captured as one without 'type'"],
      [spec(execve("    fields: [argv, { name: argv_truncated, from: pid }]\n")),
        "probes/test.yaml:4:28: field 'argv_truncated' and field 'argv' (its argvTruncated flag) both become 'argvTruncated' in TypeScript"],
      [spec(execve("    exit: true\n    fields: [argv]\n")),
        "probes/test.yaml:5:14: 'argv' is a list of strings, which an entry cannot keep for its exit yet"],
    ];
    for (const [text, message] of cases) expect(located(frontEnd(text).diagnostics), message).toEqual([message]);
  });

  it("type: u64 still captures the array's address", () => {
    const { probe, diagnostics } = frontEnd(spec(execve("    fields: [{ name: a, from: argv, type: u64 }]\n")));
    expect(diagnostics).toEqual([]);
    expect(probe!.events[0]!.fields[0]!.type).toEqual({ kind: "int", size: 8, signed: false });
  });
});

describe("the generated decoder reads a list C filled", () => {
  const out = "test/.out/strings";
  let decode: (view: DataView, offset: number) => Record<string, unknown>;
  let cText: string;
  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "lists.yaml"), spec(execve("    fields: [pid, { name: args, from: argv, count: 3, size: 6 }]\n")).replace("name: t", "name: lists"));
    const [result] = await buildSpecs([join(out, "lists.yaml")], { outDir: out, kernel: fixtureKernel });
    expect(result!.diagnostics).toEqual([]);
    cText = readFileSync(join(out, "lists.bpf.c"), "utf8");
    decode = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/lists.ts`)).decodeListsEvent;
  });

  async function filled(body: string): Promise<Record<string, unknown>> {
    const start = cText.indexOf("struct pg_event_sys_enter_execve {");
    const struct = cText.slice(start, cText.indexOf("\n\n", start));
    const dir = join(out, "host");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "fill.c"), `#include <linux/types.h>\n#include <stdio.h>\n#include <string.h>\n${struct}
int main(void) {
  struct pg_event_sys_enter_execve e;
  memset(&e, 0xA5, sizeof e); /* slots the program did not fill hold garbage */
  e.pid = 7;
  ${body}
  fwrite(&e, sizeof e, 1, stdout);
  return 0;
}`);
    await execa("cc", ["-std=gnu11", "-Wall", "-Werror", "-o", join(dir, "fill"), join(dir, "fill.c")]);
    const { stdout } = await execa(join(dir, "fill"), { encoding: "buffer" });
    const bytes = new Uint8Array(stdout);
    return decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
  }

  it("only the strings read, empty ones included, and the truncation flag", async () => {
    expect(await filled(`strcpy(e.args[0], "ls"); strcpy(e.args[1], ""); e.pg_n_args = 2; e.pg_more_args = 0;`)).toEqual({ pid: 7, args: ["ls", ""], argsTruncated: false });
    expect(await filled(`strcpy(e.args[0], "a"); strcpy(e.args[1], "bb"); memcpy(e.args[2], "cccccc", 6); e.pg_n_args = 3; e.pg_more_args = 1;`))
      .toEqual({ pid: 7, args: ["a", "bb", "cccccc"], argsTruncated: true });
    expect(await filled(`e.pg_n_args = 0; e.pg_more_args = 0;`)).toEqual({ pid: 7, args: [], argsTruncated: false });
  });
});
