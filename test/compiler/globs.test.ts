/** Attach patterns: globs, brace lists and lists expand to one program per match; `probe` names the match. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expandBraces, globMatcher } from "../../src/compiler/attach/glob.js";
import { KernelSymbols } from "../../src/kernel/kallsyms.js";
import { Tracefs } from "../../src/kernel/tracefs.js";
import type { KernelInfo } from "../../src/compiler/resolve.js";
import { fixtureTracefs, frontEnd, located } from "../helpers/compile.js";

const spec = (program: string, extra = "") => `name: t\n${extra}programs:\n  - ${program.trim().replace(/\n/g, "\n    ")}\n`;

describe("brace lists and globs", () => {
  it("braces expand in order, nested and repeated", () => {
    expect(expandBraces("sched_process_{exec,exit}")).toEqual(["sched_process_exec", "sched_process_exit"]);
    expect(expandBraces("a{b,c{d,e}}f{1,2}")).toEqual(["abf1", "abf2", "acdf1", "acdf2", "acef1", "acef2"]);
    expect(expandBraces("plain")).toEqual(["plain"]);
    expect(() => expandBraces("a{b,c")).toThrow(/'\{' without '\}'/);
  });

  it("* and ? stay within one path segment; [...] classes match one character", () => {
    const m = globMatcher("syscalls/sys_enter_open*");
    expect(["syscalls/sys_enter_open", "syscalls/sys_enter_openat2", "syscalls/sys_exit_open"].filter(m)).toEqual(["syscalls/sys_enter_open", "syscalls/sys_enter_openat2"]);
    expect(globMatcher("*")("syscalls/x")).toBe(false);
    expect(["read", "pread64", "readv"].filter(globMatcher("?read*"))).toEqual(["pread64"]);
    expect(["a1", "b1", "c1"].filter(globMatcher("[ab]1"))).toEqual(["a1", "b1"]);
    expect(["a1", "b1", "c1"].filter(globMatcher("[!ab]1"))).toEqual(["c1"]);
  });
});

describe("a program per match", () => {
  it("a glob: one program per tracepoint, sorted, sharing one event named after the pattern", () => {
    const { probe, diagnostics } = frontEnd(spec("attach: tracepoint/syscalls/sys_enter_open*\nfields: [pid, probe]"));
    expect(diagnostics).toEqual([]);
    expect(probe!.programs.map((p) => [p.name, p.section])).toEqual([
      ["sys_enter_open", "tracepoint/syscalls/sys_enter_open"],
      ["sys_enter_openat", "tracepoint/syscalls/sys_enter_openat"],
      ["sys_enter_openat2", "tracepoint/syscalls/sys_enter_openat2"],
    ]);
    expect(probe!.events.map((e) => e.name)).toEqual(["sys_enter_open"]);
    expect(new Set(probe!.programs.map((p) => p.event))).toHaveProperty("size", 3); // each reads its own record
    expect(new Set(probe!.programs.map((p) => p.event!.cName))).toEqual(new Set(["pg_event_sys_enter_open"]));
    expect(probe!.attachPoints).toEqual(["tracepoint/syscalls/sys_enter_open", "tracepoint/syscalls/sys_enter_openat", "tracepoint/syscalls/sys_enter_openat2"]);
    expect(probe!.programs.map((p) => p.event!.fields[1]!.source)).toEqual([0, 1, 2].map((index) => ({ kind: "probe", index })));
  });

  it("a brace list and a YAML list of patterns; a given name prefixes each program's", () => {
    const braces = frontEnd(spec("attach: tracepoint/sched/sched_process_{fork,exec}\nname: proc\nfields: [pid]"));
    expect(braces.diagnostics).toEqual([]);
    expect(braces.probe!.programs.map((p) => p.name)).toEqual(["proc_sched_process_exec", "proc_sched_process_fork"]);
    expect(braces.probe!.events.map((e) => e.name)).toEqual(["proc"]);
    const list = frontEnd(spec("attach: [tracepoint/sched/sched_process_exec, tracepoint/syscalls/sys_enter_close, tracepoint/sched/sched_process_exec]\nevent: seen\nfields: [pid]"));
    expect(list.diagnostics).toEqual([]);
    expect(list.probe!.programs.map((p) => p.section)).toEqual(["tracepoint/sched/sched_process_exec", "tracepoint/syscalls/sys_enter_close"]);
  });

  it("a glob that matches nothing names the globs that would", () => {
    const { diagnostics } = frontEnd(spec("attach: tracepoint/syscalls/sys_entr_op*\nfields: [pid]"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:3:13: 'tracepoint/syscalls/sys_entr_op*' matches no tracepoint. Did you mean 'tracepoint/syscalls/sys_enter_op*'?"]);
    expect(diagnostics[0]!.hint).toMatch(/probegen list/);
  });

  it("an unbalanced brace, and exit: with several matches, are errors", () => {
    expect(located(frontEnd(spec("attach: tracepoint/sched/sched_process_{exec,fork\nfields: [pid]")).diagnostics)[0]).toMatch(/'\{' without '\}'/);
    const pair = frontEnd(spec("attach: tracepoint/syscalls/sys_enter_open*\nexit: true\nfields: [pid]"));
    expect(located(pair.diagnostics)).toEqual(["probes/test.yaml:4:11: 'exit:' pairs one attach point with its return, and this program attaches to 3"]);
  });

  it("a field one match lacks is an error naming that match", () => {
    const { diagnostics } = frontEnd(spec("attach: tracepoint/syscalls/sys_enter_*\nfields: [filename]"));
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.message).toMatch(/^'filename' is not a value of tracepoint syscalls\/sys_enter_close\./);
    expect(diagnostics[0]!.message).toMatch(/\(so 1 match of 5 fail: tracepoint\/syscalls\/sys_enter_close\)$/);
    expect(diagnostics[0]!.hint).toMatch(/only what every match has/);
  });

  it("a name no match has is reported once, as for one attach point", () => {
    const { diagnostics } = frontEnd(spec("attach: tracepoint/syscalls/sys_enter_open*\nfilter: nosuch > 0\nfields: [pid]"));
    expect(diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^'nosuch' is not a value of tracepoint syscalls\/sys_enter_open\./)]);
  });
});

describe("patterns of function kinds (build only: kprobes do not load on every host)", () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-kallsyms-"));
  writeFileSync(join(dir, "kallsyms"), ["ffffffff81000010 T do_sys_open", "ffffffff81000020 t do_sys_openat2", "ffffffff81000030 T vfs_read", "ffffffff81000040 D do_sys_data"].join("\n"));
  const kernel: KernelInfo = { tracefs: () => new Tracefs(fixtureTracefs), symbols: () => KernelSymbols.read(join(dir, "kallsyms")) };

  it("kprobe/GLOB matches kallsyms' functions: a kprobe per function", () => {
    const { probe, diagnostics } = frontEnd(spec("attach: kprobe/do_sys_*\nfields: [probe, pid]"), "probes/test.yaml", kernel);
    expect(diagnostics).toEqual([]);
    expect(probe!.programs.map((p) => p.section)).toEqual(["kprobe/do_sys_open", "kprobe/do_sys_openat2"]);
    expect(probe!.attachPoints).toEqual(["kprobe/do_sys_open", "kprobe/do_sys_openat2"]);
  });

  it("a list may mix kinds", () => {
    const { probe, diagnostics } = frontEnd(spec("attach: [kprobe/vfs_read, tracepoint/syscalls/sys_enter_close]\nevent: mixed\nfields: [probe, pid]"), "probes/test.yaml", kernel);
    expect(diagnostics).toEqual([]);
    expect(probe!.programs.map((p) => p.section)).toEqual(["kprobe/vfs_read", "tracepoint/syscalls/sys_enter_close"]);
  });

  it("without kallsyms, a kprobe glob cannot be matched", () => {
    const { diagnostics } = frontEnd(spec("attach: kprobe/do_sys_*\nfields: [pid]"));
    expect(diagnostics.map((d) => d.message)).toEqual(["the kernel's functions cannot be listed: /proc/kallsyms shows no addresses"]);
  });
});

describe("fields every match types differently", () => {
  // Four tracepoints whose `fd` is i32, u32, u64 and i64.
  const root = mkdtempSync(join(tmpdir(), "probegen-tracefs-"));
  const formats: Array<[string, string, number, number]> = [["a", "int fd", 4, 1], ["b", "unsigned int fd", 4, 0], ["c", "unsigned long fd", 8, 0], ["d", "long fd", 8, 1]];
  for (const [name, decl, size, signed] of formats) {
    mkdirSync(join(root, "events", "cat", name), { recursive: true });
    writeFileSync(join(root, "events", "cat", name, "format"), `name: ${name}\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:${decl};\toffset:8;\tsize:${size};\tsigned:${signed};\n\nprint fmt: "fd=%d", REC->fd\n`);
  }
  const kernel: KernelInfo = { tracefs: () => new Tracefs(root), symbols: () => undefined };

  it("an i32 and a u32 meet in an i64", () => {
    const { probe, diagnostics } = frontEnd(spec("attach: tracepoint/cat/[ab]\nevent: fds\nfields: [fd]"), "probes/test.yaml", kernel);
    expect(diagnostics).toEqual([]);
    expect(probe!.events[0]!.fields[0]!.type).toEqual({ kind: "int", size: 8, signed: true });
    expect(probe!.programs.map((p) => p.event!.fields[0]!.type)).toEqual([{ kind: "int", size: 8, signed: true }, { kind: "int", size: 8, signed: true }]);
  });

  it("a u64 and an i64 have no common type: an error naming both matches", () => {
    const { diagnostics } = frontEnd(spec("attach: tracepoint/cat/[cd]\nevent: fds\nfields: [fd]"), "probes/test.yaml", kernel);
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:14: 'fd' is u64 in tracepoint/cat/c but i64 in tracepoint/cat/d, and no type holds both"]);
  });
});

describe("probe", () => {
  it("compared with a name in a filter: the name's index, checked against the matches", () => {
    const ok = frontEnd(spec(`attach: tracepoint/sched/sched_process_{exec,fork}\nfilter: probe == "tracepoint/sched/sched_process_fork"\nfields: [pid]`));
    expect(ok.diagnostics).toEqual([]);
    const filters = ok.probe!.programs.map((p) => p.filter as { left: { source: unknown }; right: { value: bigint } });
    expect(filters.map((f) => [f.left.source, f.right.value])).toEqual([[{ kind: "probe", index: 0 }, 1n], [{ kind: "probe", index: 1 }, 1n]]);
    const bad = frontEnd(spec(`attach: tracepoint/sched/sched_process_{exec,fork}\nfilter: probe == "tracepoint/sched/sched_process_exit"\nfields: [pid]`));
    expect(bad.diagnostics.map((d) => d.message)).toEqual(["filter: 'tracepoint/sched/sched_process_exit' is not an attach point of this program. Did you mean 'tracepoint/sched/sched_process_exec' or 'tracepoint/sched/sched_process_fork'?"]);
    expect(frontEnd(spec(`attach: tracepoint/sched/sched_process_exec\nfilter: probe < "x"\nfields: [pid]`)).diagnostics.map((d) => d.message))
      .toEqual(["filter: 'probe' is compared with a name by == or !=, not '<'"]);
  });

  it("a map key filled with probe reads as the attach point's name", () => {
    const { probe, diagnostics } = frontEnd(spec("attach: tracepoint/syscalls/sys_enter_open*\nupdate: [{ map: calls, key: probe, count: true }]", "maps:\n  calls: { type: hash, key: u32, value: u64 }\n"));
    expect(diagnostics).toEqual([]);
    const key = probe!.maps.find((m) => m.name === "calls")!.key!;
    expect(key.kind === "scalar" && key.decode?.kind === "symbolic" && key.decode.table.entries.map((e) => e.name)).toEqual(probe!.attachPoints);
  });

  it("no list of attach points is emitted when neither an event nor a key carries probe", () => {
    const { probe } = frontEnd(spec("attach: tracepoint/syscalls/sys_enter_open*\nfilter: probe != \"tracepoint/syscalls/sys_enter_open\"\nfields: [pid]"));
    expect(probe!.attachPoints).toBeUndefined();
  });
});

describe("probe as a key too narrow for the attach points", () => {
  // 257 tracepoints: one more than a u8 numbers.
  const root = mkdtempSync(join(tmpdir(), "probegen-tracefs-"));
  for (let i = 0; i < 257; i++) {
    mkdirSync(join(root, "events", "many", `tp${i}`), { recursive: true });
    writeFileSync(join(root, "events", "many", `tp${i}`, "format"), `name: tp${i}\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\nprint fmt: ""\n`);
  }
  const kernel: KernelInfo = { tracefs: () => new Tracefs(root), symbols: () => undefined };
  const keyed = (type: string) => spec("attach: tracepoint/many/tp*\nupdate: [{ map: calls, key: probe, count: true }]", `maps:\n  calls: { type: hash, key: ${type}, value: u64 }\n`);

  it("a u8 key cannot number 257 attach points; a u16 can", () => {
    expect(located(frontEnd(keyed("u8"), "probes/test.yaml", kernel).diagnostics))
      .toEqual(["probes/test.yaml:3:3: map 'calls' is keyed by probe, and its u8 key cannot number the probe's 257 attach points"]);
    expect(frontEnd(keyed("u16"), "probes/test.yaml", kernel).diagnostics).toEqual([]);
  });
});
