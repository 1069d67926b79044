/** An expression YAML misreads because it is not quoted: one error that says to quote it, not a flood. */
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { quote, unquotedExpressionAt } from "../../src/compiler/unquoted.js";
import { loadCorpus } from "../fuzz/corpus.js";
import { unquotedExpression } from "../fuzz/mutate.js";
import { Random } from "../fuzz/random.js";
import { frontEnd, located } from "../helpers/compile.js";

const program = (lines: string) => `name: t
maps:
  start: { type: hash, key: u32, value: u64 }
  lat: { type: hash, key: u32, value: hist }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
${lines}`;

describe("unquoted expressions in a spec", () => {
  it("the issue's runqlat line: one error at the expression, with its quoted form", () => {
    const { diagnostics } = frontEnd(program("    update:\n      - { map: lat, key: 0, hist: ktime - start[next_pid] }\n      - { map: lat, key: 1, count: true }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:8:35: quote the hist expression: inside { } YAML reads '[' as the start of a list"]);
    expect(diagnostics[0]!.code).toBe("yaml-unquoted-expression");
    expect(diagnostics[0]!.hint).toBe('write hist: "ktime - start[next_pid]"');
    expect(diagnostics[0]!.span).toMatchObject({ endLine: 8, endColumn: 58 });
  });

  it.each([
    ["filter: *ptr == 0 && pid > 1", "a leading '*' as an alias", '"*ptr == 0 && pid > 1"'],
    ["filter: &mask != 0", "a leading '&' as an anchor", '"&mask != 0"'],
    ["filter: !(pid == 1)", "a leading '!' as a tag", '"!(pid == 1)"'],
    ["filter: %x > 0", "a leading '%' as a directive", '"%x > 0"'],
    ["filter: @x > 0", "a leading '@' as a reserved character", '"@x > 0"'],
    ["filter: `x > 0", "a leading '`' as a reserved character", '"`x > 0"'],
    ["filter: [pid] > 0", "a leading '[' as the start of a list", '"[pid] > 0"'],
    ["filter: pid: 1", "': ' as the start of a mapping", '"pid: 1"'],
    ['filter: comm == "a: b"', "': ' as the start of a mapping", `'comm == "a: b"'`],
  ])("%s", (line, reason, quoted) => {
    const { diagnostics } = frontEnd(program(`    ${line}\n    fields: [pid]\n`));
    expect(diagnostics.map((d) => d.message)).toEqual([expect.stringContaining(`quote the filter expression: YAML reads ${reason}`)]);
    expect(diagnostics[0]!.span).toMatchObject({ line: 7, column: 13 });
    expect(diagnostics[0]!.hint).toBe(`write filter: ${quoted}`);
  });

  it("in a flow mapping: '{', ': ' and ' #' too, and only the expression is quoted", () => {
    const one = (u: string) => frontEnd(program(`    update:\n      - ${u}\n`)).diagnostics;
    expect(one("{ map: lat, key: 0, hist: a{b} }").map((d) => [d.message, d.hint])).toEqual([["quote the hist expression: inside { } YAML reads '{' as the start of a mapping", 'write hist: "a{b}"']]);
    expect(one("{ map: start, key: pid, set: ktime, if: a: b }").map((d) => d.hint)).toEqual(['write if: "a: b"']);
    expect(one("{ map: start, key: pid, sum: a #b }").map((d) => d.hint)).toEqual(['write sum: "a #b"']);
  });

  it("a quoted expression, a struct key and other YAML mistakes are not taken for one", () => {
    expect(frontEnd(program('    update:\n      - { map: lat, key: 0, hist: "ktime - start[pid]" }\n')).diagnostics.map((d) => d.code)).not.toContain("yaml-unquoted-expression");
    const other = frontEnd(program("    fields: [pid\n    filter: pid > 1\n")).diagnostics;
    expect(other.map((d) => d.code)).toEqual(["yaml-syntax"]);
  });

  it("other YAML errors: only the first, saying how many more it caused", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: x\n    fields: [pid, {comm]\n  - attach: y\n");
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.code).toBe("yaml-syntax");
    expect(diagnostics[0]!.hint).toMatch(/; \d+ more YAML errors? after it, which often follow from this one, are not shown$/);
  });

  it("YAML reads `filter: a #b` as `a` (a comment): left alone, valid YAML", () => {
    const { diagnostics } = frontEnd(program('    filter: comm == "bash" # only bash\n    fields: [pid]\n'));
    expect(diagnostics).toEqual([]);
  });
});

describe("the fuzzer's unquoted-expression mutation", () => {
  it("on every spec of the corpus, 300 times, is refused first of all with 'quote the expression'", () => {
    const corpus = loadCorpus();
    const r = new Random(14);
    for (let i = 0; i < 300; i++) {
      const seed = corpus[i % corpus.length]!;
      const { text, what } = unquotedExpression(r, stringify(seed.spec, { lineWidth: 0 }));
      const { diagnostics } = frontEnd(text);
      expect(diagnostics[0]?.code, `${seed.origin}: ${what}\n${diagnostics[0]?.message}`).toBe("yaml-unquoted-expression");
    }
  });
});

describe("unquotedExpressionAt and quote", () => {
  it("finds the expression on the problem's line or up to two lines before", () => {
    const text = "u: { sum: a #b }\n";
    expect(unquotedExpressionAt(text, text.length)).toMatchObject({ key: "sum", expression: "a #b", start: 10, end: 14 });
    expect(unquotedExpressionAt("x: 1\ny: [2\n", 9)).toBeUndefined();
  });

  it("quotes with double quotes, or single quotes around strings", () => {
    expect(quote("a[b]")).toBe('"a[b]"');
    expect(quote("a \\ b")).toBe('"a \\\\ b"');
    expect(quote(`comm == "it's"`)).toBe(`'comm == "it''s"'`);
  });
});
