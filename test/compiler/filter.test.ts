import { describe, expect, it } from "vitest";
import { FilterSyntaxError, parseFilter, type FilterAst } from "../../src/compiler/filter.js";

/** The tree as a fully parenthesised string, to check precedence. */
function show(a: FilterAst): string {
  switch (a.kind) {
    case "int": return String(a.value);
    case "string": return JSON.stringify(a.value);
    case "name": return a.path.join(".");
    case "unary": return `(${a.op}${show(a.operand)})`;
    case "binary": return `(${show(a.left)} ${a.op} ${show(a.right)})`;
  }
}

describe("filter language", () => {
  it.each([
    ["uid == 0", "(uid == 0)"],
    ["a || b && c", "(a || (b && c))"],
    ["!a && b", "((!a) && b)"],
    ["flags & 0x40 == 0", "(flags & (64 == 0))"],
    ["(flags & 0x40) == 0", "((flags & 64) == 0)"],
    ["ret < -1", "(ret < (-1))"],
    ["a + b * c - d", "((a + (b * c)) - d)"],
    ["args.how.flags != 0b101", "(args.how.flags != 5)"],
    ['comm == "ba\\"sh"', '(comm == "ba\\"sh")'],
  ])("%s parses as %s", (text, expected) => {
    expect(show(parseFilter(text))).toBe(expected);
  });

  it.each([
    ["uid ==", "the filter ends too early", 6],
    ["uid = 0", "unexpected character '='", 4],
    ["uid == 0 pid", "unexpected 'pid'", 9],
    ['comm == "bash', "unterminated string", 8],
    ["(uid == 0", "expected ')'", 9],
    ["12abc", "malformed number '12a'", 0],
  ])("%s is an error: %s at %i", (text, message, start) => {
    try {
      parseFilter(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FilterSyntaxError);
      expect((e as FilterSyntaxError).message).toBe(message);
      expect((e as FilterSyntaxError).start).toBe(start);
    }
  });

  it("keeps source offsets for every node", () => {
    const ast = parseFilter("uid != 0 && comm == 'x'");
    expect(ast).toMatchObject({ start: 0, end: 23, right: { start: 12, end: 23, left: { start: 12, end: 16 } } });
  });
});
