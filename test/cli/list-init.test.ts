/** `probegen list` on the running kernel (tracefs), and `probegen init` output that builds. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Tracefs } from "../../src/kernel/tracefs.js";
import { fixtureTracefs } from "../helpers/compile.js";
import { probegen } from "./helpers.js";

const tracefs = Tracefs.find();
const hasTracefs = (() => {
  try {
    return tracefs !== undefined && tracefs.format("syscalls", "sys_enter_openat") !== undefined;
  } catch {
    return false;
  }
})();
if (!hasTracefs) console.warn("[cli/list-init.test.ts] SKIPPING listing the running kernel: tracefs is not mounted or not readable (run as root)");

const scratch = mkdtempSync(join(tmpdir(), "probegen-init-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!hasTracefs)("probegen list (running kernel)", () => {
  it("finds sys_enter_openat with 'category:glob' and 'category/glob' patterns", async () => {
    for (const pattern of ["syscalls:sys_enter_open*", "syscalls/sys_enter_open*", "sys_enter_openat", "*:sys_enter_opena?"]) {
      const r = await probegen(["list", "tracepoints", pattern]);
      expect(r.exitCode, pattern).toBe(0);
      expect(r.stdout.split("\n"), pattern).toContain("tracepoint/syscalls/sys_enter_openat");
      expect(r.stdout, pattern).not.toContain("sys_enter_close");
    }
    const json = await probegen(["list", "tracepoints", "--json", "syscalls:sys_enter_openat*"]);
    expect(JSON.parse(json.stdout)).toEqual(["tracepoint/syscalls/sys_enter_openat", "tracepoint/syscalls/sys_enter_openat2"]);
    const none = await probegen(["list", "tracepoints", "nothing:like_this*"]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("nothing matches");
  });

  it("shows what an attach pattern matches: the programs a spec with that attach: gets", async () => {
    const glob = await probegen(["list", "--json", "tracepoint/syscalls/sys_enter_getp*"]);
    expect(glob.exitCode, glob.stderr).toBe(0);
    const matches: string[] = JSON.parse(glob.stdout);
    expect(matches).toContain("tracepoint/syscalls/sys_enter_getppid");
    expect(matches.every((m) => m.startsWith("tracepoint/syscalls/sys_enter_getp"))).toBe(true);
    expect(matches).toEqual([...matches].sort());
    const braces = await probegen(["list", "tracepoint:sched:sched_process_{exec,exit}"]);
    expect(braces.stdout.trim().split("\n")).toEqual(["tracepoint/sched/sched_process_exec", "tracepoint/sched/sched_process_exit"]);
    const none = await probegen(["list", "tracepoint/syscall/sys_enter_*"]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("'tracepoint/syscall/sys_enter_*' matches no tracepoint. Did you mean 'tracepoint/syscalls/sys_enter_*'?");
  });

  it("shows one tracepoint's arguments with C and probegen types", async () => {
    const r = await probegen(["list", "tracepoint", "syscalls/sys_enter_openat"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tracepoint\/syscalls\/sys_enter_openat\n/);
    expect(r.stdout).toMatch(/const char \*\s+filename\s+string\[256\]\s+user-space string/);
    expect(r.stdout).toMatch(/int\s+flags\s+i32/);
    expect(r.stdout).toContain("comm (string[16])");
    const json = JSON.parse((await probegen(["list", "tracepoint", "--json", "syscalls:sys_enter_openat"])).stdout);
    expect(json.args.find((a: { name: string }) => a.name === "dfd")).toEqual({ name: "dfd", cType: "int", type: "i32", note: "" });
    const typo = await probegen(["list", "tracepoint", "syscalls/sys_enter_opennat"]);
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toContain("Did you mean 'syscalls/sys_enter_openat'");
    expect(typo.stderr).not.toMatch(/\n\s+at /);
  });

  it("shows arrays as arrays, bytes as bytes, and that pointers are addresses only when asked", async () => {
    const sys = await probegen(["list", "tracepoint", "raw_syscalls/sys_enter"]);
    expect(sys.exitCode, sys.stderr).toBe(0);
    expect(sys.stdout).toMatch(/unsigned long\[6\]\s+args\s+u64\[6\]\s+copied by value/);
    const tcp = await probegen(["list", "tracepoint", "sock/inet_sock_set_state"]);
    expect(tcp.stdout).toMatch(/__u8\[16\]\s+saddr_v6\s+u8\[16\]\s+bytes, copied by value/);
    expect(tcp.stdout).toMatch(/const void \*\s+skaddr\s+u64\s+an address: captured only with type: u64/);
  });

  it("rejects what it cannot list with exit 2", async () => {
    expect((await probegen(["list", "uprobes"])).exitCode).toBe(2);
    expect((await probegen(["list", "tracepoint", "syscalls/*"])).exitCode).toBe(2);
  });
});

describe("probegen init", () => {
  const env = { PROBEGEN_TRACEFS: fixtureTracefs };
  it("writes a starter spec with the schema line and the real fields as comments, and it builds", async () => {
    const r = await probegen(["init", "myopens", "--attach", "tracepoint/syscalls/sys_enter_openat"], scratch, env);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = readFileSync(join(scratch, "probes/myopens.yaml"), "utf8");
    expect(text).toMatch(/^# yaml-language-server: \$schema=\S+schemas\/probe\.schema\.json\n/);
    expect(text).toContain("name: myopens\n");
    expect(text).toContain("  - attach: tracepoint/syscalls/sys_enter_openat\n");
    expect(text).toMatch(/#\s+filename\s+const char \*\s+-> string\[256\] \(user string\)/);
    expect(text).toMatch(/#\s+mode\s+umode_t/);
    const b = await probegen(["build", "probes/myopens.yaml"], scratch, env);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(existsSync(join(scratch, "generated/myopens.bpf.o"))).toBe(true);
    expect(readFileSync(join(scratch, "generated/myopens.ts"), "utf8")).toContain("filename: string;");
  });

  it("a starter for a tracepoint with arrays captures them by value and leaves pointers out", async () => {
    for (const [name, attach] of [["rawsys", "tracepoint/raw_syscalls/sys_enter"], ["tcpstate", "tracepoint/sock/inet_sock_set_state"]] as const) {
      const r = await probegen(["init", name, "--attach", attach], scratch, env);
      expect(r.exitCode, r.stderr).toBe(0);
      const b = await probegen(["build", `probes/${name}.yaml`], scratch, env);
      expect(b.exitCode, b.stderr).toBe(0);
    }
    expect(readFileSync(join(scratch, "probes/rawsys.yaml"), "utf8")).toMatch(/      - args\n[^]*#\s+args\s+unsigned long\[6\]\s+-> u64\[6\] \(copied by value\)/);
    expect(readFileSync(join(scratch, "generated/rawsys.ts"), "utf8")).toContain("args: bigint[];");
    const tcp = readFileSync(join(scratch, "probes/tcpstate.yaml"), "utf8");
    expect(tcp).not.toMatch(/      - skaddr/);
    expect(tcp).toMatch(/#\s+skaddr\s+const void \*\s+-> its address only with type: u64/);
  });

  it("refuses to overwrite, bad names and unknown attach points (exit 2)", async () => {
    const again = await probegen(["init", "myopens", "--attach", "tracepoint/syscalls/sys_enter_openat"], scratch, env);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("already exists");
    expect((await probegen(["init", "My-Probe", "--attach", "tracepoint/syscalls/sys_enter_openat"], scratch, env)).exitCode).toBe(2);
    const typo = await probegen(["init", "x", "--attach", "tracepoint/syscalls/sys_enter_opennat"], scratch, env);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain("Did you mean 'syscalls/sys_enter_openat'");
    expect((await probegen(["init", "x"], scratch, env)).exitCode).toBe(2);
  });
});
