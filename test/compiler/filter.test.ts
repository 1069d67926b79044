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
    case "lookup": return `${a.map.name}[${a.keys.map(show).join(", ")}]${a.member ? `.${a.member.name}` : ""}`;
    case "in": return `(${a.keys.length > 1 ? `(${a.keys.map(show).join(", ")})` : show(a.keys[0]!)} in ${a.map.name})`;
    case "tuple": return `(${a.items.map(show).join(", ")})`;
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
    ["ktime - start[args.next_pid]", "(ktime - start[args.next_pid])"],
    ["by_user[uid, comm] > 3", "(by_user[uid, comm] > 3)"],
    ["total[] * 2", "(total[] * 2)"],
    ["m[k + 1].calls", "m[(k + 1)].calls"],
    ["args.pid in start && x", "((args.pid in start) && x)"],
    ["a + 1 in m == 0", "(((a + 1) in m) == 0)"],
    ["(uid, comm) in by_user", "((uid, comm) in by_user)"],
    ["!(pid in m)", "(!(pid in m))"],
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
    ["start[args.next_pid", "expected ']'", 19],
    ["m[k][j]", "a map's value is not a map", 4],
    ["pid in 3", "expected a map's name after 'in'", 7],
    ["(a, b) + 1", "a list in parentheses is a map's key, and only tests a map with 'in'", 0],
    ["m[(a, b)]", "a list in parentheses is a map's key, and only tests a map with 'in'", 2],
    ["(a, b)", "a list in parentheses is a map's key, and only tests a map with 'in'", 0],
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
