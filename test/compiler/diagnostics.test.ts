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

  it("a missing required key", () => {
    const { diagnostics } = frontEnd(spec("  - fields: [pid]\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:5: 'programs.0' needs 'attach'"]);
  });

  it("a malformed attach point", () => {
    const { diagnostics } = frontEnd(spec("  - attach: uprobe:foo\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:13: 'programs.0.attach' is 'uprobe:foo', which is not valid here"]);
    expect(diagnostics[0]!.hint).toContain("tracepoint/CATEGORY/NAME");
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
    expect(diagnostics[0]!.hint).toContain("kprobe on the same function");
  });

  it("names that would collide with C are refused", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [{ name: int, from: pid }]\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:22: field name 'int' cannot be used: 'int' is reserved in C"]);
  });

  it("ring buffer sizes must be powers of two", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n", "maps:\n  events: { type: ringbuf, size: 5000 }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:34: ring buffer size 5000 is not a power of two of at least 4096 bytes"]);
  });

  it("reports every error in one run", () => {
    const { diagnostics } = frontEnd(spec("  - attach: tracepoint/syscalls/sys_enter_opnat\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [nope]\n"));
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
