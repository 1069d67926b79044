/**
 * String parameters on the running kernel: `comm == params.comm` keeps only the events of the
 * command named at load, and a user string compares with a parameter up to its NUL, whole.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/string-params.test.ts");
const out = "test/.out/string-params";
const dir = mkdtempSync(join(tmpdir(), "probegen-strparam-"));
const file = join(dir, "target");

// The filename is not captured: the filter reads it onto the stack, as far as the parameter goes.
const spec = `name: string_params
params:
  comm: { type: "string[16]", default: "", description: "only this command (empty: any)" }
  path: { type: "string[64]", default: "${file}" }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    filter: (params.comm == "" || comm == params.comm) && filename == params.path
    fields: [pid, comm]
`;

interface Probe extends Disposable {
  events: { on(fn: (ev: { pid: number; comm: string }) => void): void };
}
let load: (options?: { params?: { comm?: unknown; path?: unknown } }) => Promise<Probe>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/string_params.yaml`, spec);
  writeFileSync(file, "x");
  // A command's comm is the name it was run by: links to cat give known names.
  for (const name of ["pgcomm_a", "pgcomm_b"]) symlinkSync("/bin/cat", join(dir, name));
  const [result] = await buildSpecs([`${out}/string_params.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/string_params.ts`)).loadStringParams;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs each command on the target file, and returns the comms of the events that arrived. */
async function commsSeen(probe: Probe, commands: string[], path = file): Promise<string[]> {
  const seen: string[] = [];
  probe.events.on((ev) => seen.push(ev.comm));
  for (const c of commands) execFileSync(join(dir, c), [path], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 100));
  return seen.sort();
}

describe.skipIf(!support.ok)("string parameters on the running kernel", () => {
  it("the default (empty) keeps every command", async () => {
    using probe = await load();
    expect(await commsSeen(probe, ["pgcomm_a", "pgcomm_b"])).toEqual(["pgcomm_a", "pgcomm_b"]);
  });

  it("comm == params.comm keeps only the command named at load", async () => {
    using probe = await load({ params: { comm: "pgcomm_b" } });
    expect(await commsSeen(probe, ["pgcomm_a", "pgcomm_b", "pgcomm_a"])).toEqual(["pgcomm_b"]);
  });

  it("a comm no process has, or a prefix of one, keeps nothing", async () => {
    for (const comm of ["pgcomm_c", "pgcomm", "pgcomm_a_longer"]) {
      using probe = await load({ params: { comm } });
      expect(await commsSeen(probe, ["pgcomm_a", "pgcomm_b"])).toEqual([]);
    }
  });

  it("a user string equals a parameter only whole: a prefix of the path matches nothing", async () => {
    using whole = await load({ params: { path: file } });
    expect(await commsSeen(whole, ["pgcomm_a"])).toEqual(["pgcomm_a"]);
    using prefix = await load({ params: { path: file.slice(0, -1) } });
    expect(await commsSeen(prefix, ["pgcomm_a"])).toEqual([]);
  });

  it("refuses a value that does not fit, or is not a string, naming the parameter", async () => {
    await expect(load({ params: { comm: "a_command_name_too_long" } })).rejects.toThrow(
      "string_params: parameter 'comm' must be a string of at most 15 UTF-8 bytes, got 23 bytes");
    await expect(load({ params: { comm: "ééééééééé" } })).rejects.toThrow("at most 15 UTF-8 bytes, got 18 bytes");
    await expect(load({ params: { comm: 5 } })).rejects.toThrow("string_params: parameter 'comm' must be a string of at most 15 UTF-8 bytes, got 5");
    await expect(load({ params: { comm: "a\0b" } })).rejects.toThrow("string_params: parameter 'comm' must not contain a NUL character");
  });
});
