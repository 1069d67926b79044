import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/compiler/diagnostics.js";
import { frontEnd, located } from "../helpers/compile.js";

const spec = (programs: string, extra = "") => `# test spec\nname: t\n${extra}programs:\n${programs}`;

describe("spec diagnostics name the file, line and column and say how to fix it", () => {
  it("accepts a valid spec", () => {
    const { probe, diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, comm, filename]\n"));
    expect(diagnostics).toEqual([]);
    expect(probe!.events[0]!.fields.map((f) => [f.name, f.type.kind])).toEqual([["pid", "int"], ["comm", "string"], ["filename", "string"]]);
  });

  it("YAML syntax errors", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: [oops\n");
    expect(diagnostics[0]!.code).toBe("yaml-syntax");
    expect(diagnostics[0]!.span!.file).toBe("probes/test.yaml");
    expect(diagnostics[0]!.span!.line).toBeGreaterThanOrEqual(3);
  });

  it("an unknown key, with the closest allowed key suggested", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    feilds: [pid]\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:5: unknown key 'feilds' in 'programs.0'. Did you mean 'fields'?"]);
    expect(diagnostics[0]!.hint).toContain("allowed keys here");
  });

  it("a program that does nothing", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:5: this program captures nothing and updates no map"]);
    expect(diagnostics[0]!.hint).toContain("'fields:'");
  });

  it("a missing required key", () => {
    const { diagnostics } = frontEnd(spec("  - fields: [pid]\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:5: 'programs.0' needs 'attach'"]);
  });

  it("a malformed attach point", () => {
    const { diagnostics } = frontEnd(spec("  - attach: uprobe:foo\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:13: 'programs.0.attach' is 'uprobe:foo', which is not valid here"]);
    expect(diagnostics[0]!.hint).toContain("tracepoint/CATEGORY/NAME");
  });

  it("a value with a newline is quoted on one line, escaped", () => {
    const { diagnostics } = frontEnd(spec('  - attach: "tracepoint/sched/sched_process_exec\\n#define X"\n'));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:13: 'programs.0.attach' is 'tracepoint/sched/sched_process_exec\\n#define X', which is not valid here"]);
  });

  it("a misspelt tracepoint suggests the real one", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_opnat\n"));
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:4:13: the kernel has no tracepoint 'syscalls/sys_enter_opnat'. Did you mean 'syscalls/sys_enter_openat', 'syscalls/sys_enter_openat2' or 'syscalls/sys_enter_open'?",
    ]);
  });

  it("an unknown field lists what the tracepoint has", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, filenme]\n"));
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:5:19: 'filenme' is not a value of tracepoint syscalls/sys_enter_openat. Did you mean 'filename'?",
    ]);
    expect(diagnostics[0]!.hint).toContain("dfd, filename, flags, mode");
  });

  it("a filter comparing a string with a number points inside the filter", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    filter: uid == 0 && comm == 3\n    fields: [pid]\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:25: filter: cannot compare a string with a number"]);
  });

  it("a filter syntax error points at the offending character", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    filter: \"uid == 0 &&& pid\"\n    fields: [pid]\n"));
    expect(diagnostics[0]!.code).toBe("filter-syntax");
    expect(diagnostics[0]!.span).toMatchObject({ line: 5, column: 25 });
  });

  it("a string literal longer than the field it is compared with", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    filter: comm == \"a-name-longer-than-sixteen\"\n    fields: [pid]\n"));
    expect(located(diagnostics)[0]).toMatch(/^probes\/test.yaml:5:21: filter: the string is longer than 'comm' can hold \(15 bytes\)/);
  });

  it("kretprobes cannot see arguments, and the hint says what to do", () => {
    const { diagnostics } = frontEnd(spec("  - attach: kretprobe/do_sys_openat2\n    fields: [arg0]\n"));
    expect(located(diagnostics)[0]).toContain("probes/test.yaml:5:14: 'arg0' is not a value of a kretprobe.");
    expect(diagnostics[0]!.hint).toContain("pair it with its kprobe (attach: kprobe/FUNC, exit: true)");
  });

  it("names that would collide with C are refused", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [{ name: int, from: pid }, uid]\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:22: field name 'int' cannot be used: 'int' is reserved in C"]);
  });

  it("'as: number' applies to 64-bit integers only, and says why", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields:\n      - { name: ts, from: ktime, as: number }\n      - { from: pid, as: number }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:7:26: 'as' chooses how a 64-bit integer is read, and 'pid' is u32"]);
    expect(diagnostics[0]!.hint).toBe("it is a number already: remove 'as'");
  });

  it("ring buffer sizes must be powers of two", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid]\n", "maps:\n  events: { type: ringbuf, size: 5000 }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:34: ring buffer size 5000 is not a power of two from 4 KiB to 2 GiB (the kernel's limit)"]);
  });

  it.each([["4294971392", "2^32 + 4096: a 32-bit power-of-two test passed it"], ["4GiB", "over the kernel's 32-bit size"], ["1e30", "a float that JSON Schema counts as an integer"]])(
    "ring buffer size %s is refused before the kernel sees it (%s)", (size) => {
      const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid]\n", `maps:\n  events: { type: ringbuf, size: ${size} }\n`));
      expect(diagnostics.map((d) => d.code)).toEqual(["invalid-map"]);
    });

  it("reports every error in one run", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_opnat\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [nope, pid]\n"));
    expect(diagnostics.map((d) => d.code)).toEqual(["unknown-tracepoint", "unknown-name"]);
  });

  it("prints a code frame with a caret under the mistake", () => {
    const text = spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, filenme]\n");
    const [d] = frontEnd(text).diagnostics;
    const printed = formatDiagnostic(d!, { sourceText: text });
    expect(printed.split("\n").slice(0, 4)).toEqual([
      "probes/test.yaml:5:19: error: 'filenme' is not a value of tracepoint syscalls/sys_enter_openat. Did you mean 'filename'? [unknown-name]",
      "    |   - attach: tracepoint/syscalls/sys_enter_openat",
      "  5 |     fields: [pid, filenme]",
      "    |                   ^^^^^^^",
    ]);
  });
});

describe("maps, updates, pairs and params are checked too", () => {
  const withMaps = (update: string, maps = "  counts: { type: hash, key: u32, value: u64 }\n  lat: { type: array, value: hist, max_entries: 1 }\n") =>
    frontEnd(`name: t\nparams:\n  target: { type: u32 }\nmaps:\n${maps}programs:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    update:\n${update}`);

  it("an update names a map that exists", () => {
    const { diagnostics } = withMaps("      - { map: cuonts, key: pid, count: true }\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:10:16: no map called 'cuonts'. Did you mean 'counts'?"]);
  });

  it("an update does exactly one thing", () => {
    const { diagnostics } = withMaps("      - { map: counts, key: pid, count: true, sum: pid }\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:10:9: an update does one thing, and this one says count and sum"]);
  });

  it("hist needs a histogram map, count an integer one", () => {
    expect(located(withMaps("      - { map: counts, key: pid, hist: pid }\n").diagnostics)).toEqual([
      "probes/test.yaml:10:40: hist needs a map whose value is a histogram, and 'counts' holds u64",
    ]);
    expect(located(withMaps("      - { map: lat, count: true }\n").diagnostics)).toEqual([
      "probes/test.yaml:10:28: count needs a map whose value is an integer, and 'lat' holds a histogram",
    ]);
  });

  it("ret, errno and latency exist only in a pair, and the hint says how to make one", () => {
    const { diagnostics } = withMaps("      - { map: lat, hist: latency }\n");
    expect(located(diagnostics)[0]).toContain("probes/test.yaml:10:27: 'latency' is not a value of tracepoint syscalls/sys_enter_openat.");
    expect(diagnostics[0]!.hint).toContain("add 'exit: true'");
  });

  it("params are typed and named", () => {
    const { diagnostics } = withMaps("      - { map: counts, key: params.targt, count: true }\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:10:29: no parameter 'targt'. Did you mean 'target'?"]);
  });

  it("a default must fit its parameter's type", () => {
    const { diagnostics } = frontEnd("name: t\nparams:\n  small: { type: u8, default: 300 }\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid]\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:3:31: the default 300 does not fit in u8 (0 to 255)"]);
  });

  it("exit: true knows the exit of a sys_enter tracepoint and of a kprobe, and says when it cannot", () => {
    const pair = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    exit: true\n    fields: [filename, ret, errno, latency]\n");
    expect(pair.diagnostics).toEqual([]);
    expect(pair.probe!.programs.map((p) => p.section)).toEqual(["tracepoint/syscalls/sys_enter_openat", "tracepoint/syscalls/sys_exit_openat"]);
    expect(pair.probe!.programs[0]!.stashes!.members.map((m) => m.name)).toEqual(["filename"]);
    const odd = frontEnd("name: t\nprograms:\n  - attach: tracepoint/sched/sched_process_exec\n    exit: true\n    fields: [pid]\n");
    expect(located(odd.diagnostics)).toEqual(["probes/test.yaml:4:11: probegen cannot tell the exit of tracepoint/sched/sched_process_exec"]);
  });

  it("a named exit pairs only with the same call's return", () => {
    const pair = (attach: string, exit: string) => frontEnd(`name: t\nprograms:\n  - attach: ${attach}\n    exit: ${exit}\n    fields: [ret]\n`);
    const ok = pair("tracepoint/syscalls/sys_enter_openat", "tracepoint/syscalls/sys_exit_openat");
    expect(ok.diagnostics).toEqual([]);
    expect(ok.probe!.programs.map((p) => p.section)).toEqual(["tracepoint/syscalls/sys_enter_openat", "tracepoint/syscalls/sys_exit_openat"]);
    expect(pair("tracepoint/raw_syscalls/sys_enter", "tracepoint/raw_syscalls/sys_exit").diagnostics).toEqual([]);
    expect(pair("kprobe/do_sys_openat2", "kretprobe/do_sys_openat2").diagnostics).toEqual([]);

    // Another syscall's exit: the error is at the exit and names the right one.
    const other = pair("tracepoint/syscalls/sys_enter_close", "tracepoint/syscalls/sys_exit_openat");
    expect(located(other.diagnostics)).toEqual([
      "probes/test.yaml:4:11: tracepoint/syscalls/sys_exit_openat is not the return of tracepoint/syscalls/sys_enter_close: an exit must be the same call's return (entry and exit are matched by thread)",
    ]);
    expect(other.diagnostics[0]!.code).toBe("unpaired-exit");
    expect(other.diagnostics[0]!.hint).toBe("use exit: tracepoint/syscalls/sys_exit_close (or exit: true)");
    for (const [attach, exit, own] of [
      ["kprobe/do_sys_openat2", "kretprobe/vfs_open", "kretprobe/do_sys_openat2"],
      ["tracepoint/raw_syscalls/sys_enter", "tracepoint/syscalls/sys_exit_openat", "tracepoint/raw_syscalls/sys_exit"],
      ["tracepoint/syscalls/sys_enter_openat", "kretprobe/do_sys_openat2", "tracepoint/syscalls/sys_exit_openat"],
    ]) {
      expect(pair(attach!, exit!).diagnostics[0]!.hint, `${attach} -> ${exit}`).toBe(`use exit: ${own} (or exit: true)`);
    }

    // Two different events: the hint points to a timestamp in a map.
    for (const [attach, exit] of [
      ["tracepoint/sched/sched_process_fork", "tracepoint/sched/sched_process_exec"],
      ["tracepoint/sched/sched_process_exec", "tracepoint/syscalls/sys_exit_openat"],
    ]) {
      const { diagnostics } = pair(attach!, exit!);
      expect(located(diagnostics), `${attach} -> ${exit}`).toEqual([`probes/test.yaml:4:11: ${exit} is not the return of ${attach}: an exit must be the same call's return (entry and exit are matched by thread)`]);
      expect(diagnostics[0]!.hint).toContain("store a timestamp in a map in one program and read it in the other with `start[key]` (see docs/spec.md#maps-in-expressions)");
    }
  });

  it("a filter on entry values alone runs at the entry, so unwanted calls are never stashed", () => {
    const { probe } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    exit: true\n    filter: uid != 0\n    fields: [ret]\n");
    expect(probe!.programs.map((p) => p.filter !== undefined)).toEqual([true, false]);
    const both = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    exit: true\n    filter: uid != 0 && ret < 0\n    fields: [ret]\n");
    expect(both.probe!.programs.map((p) => p.filter !== undefined)).toEqual([false, true]);
  });
});
