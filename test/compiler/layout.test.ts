import { describe, expect, it } from "vitest";
import { layoutStruct } from "../../src/compiler/layout.js";
import { parseTypeName, u32, type ScalarOrString } from "../../src/compiler/types.js";

const m = (name: string, t: string) => ({ name, type: parseTypeName(t) as ScalarOrString });

describe("layout", () => {
  it("orders members by alignment so that there is no inner padding", () => {
    const layout = layoutStruct([m("comm", "string[16]"), m("pid", "u32"), m("ts", "u64"), m("flag", "bool"), m("port", "u16")]);
    expect(layout.members.map((x) => [x.name, x.offset])).toEqual([["ts", 0], ["pid", 8], ["port", 12], ["comm", 14], ["flag", 30]]);
    expect(layout.size).toBe(32); // rounded up to the 8-byte alignment of ts
    expect(layout.align).toBe(8);
  });

  it("keeps declaration order among members of equal alignment", () => {
    const layout = layoutStruct([m("b", "u32"), m("a", "i32"), m("c", "u32")]);
    expect(layout.members.map((x) => x.name)).toEqual(["b", "a", "c"]);
    expect(layout.size).toBe(12);
  });

  it("keeps pinned members first (event type tags)", () => {
    const layout = layoutStruct([m("ts", "u64"), m("s", "string[3]")], [{ name: "pg_type", type: u32 }]);
    expect(layout.members.map((x) => [x.name, x.offset])).toEqual([["pg_type", 0], ["ts", 8], ["s", 16]]);
    expect(layout.size).toBe(24);
  });

  it("strings alone are byte aligned", () => {
    const layout = layoutStruct([m("a", "string[5]"), m("b", "string[3]")]);
    expect(layout).toMatchObject({ size: 8, align: 1 });
  });
});
