/**
 * Arrays are values: typed from tracefs and the spec, laid out with their element's alignment,
 * refused where they mean nothing (filters, arithmetic), and never confused with a pointer.
 */
import { describe, expect, it } from "vitest";
import { parseFormat } from "../../src/kernel/tracefs.js";
import { layoutStruct } from "../../src/compiler/layout.js";
import { parseTypeName, sizeOf, typeName, type ScalarOrString } from "../../src/compiler/types.js";
import { frontEnd, located } from "../helpers/compile.js";

const m = (name: string, t: string) => ({ name, type: parseTypeName(t) as ScalarOrString });
const spec = (programs: string, extra = "") => `name: t\n${extra}programs:\n${programs}`;
const tcp = "  - attach: tracepoint/sock/inet_sock_set_state\n";
const sysEnter = "  - attach: tracepoint/raw_syscalls/sys_enter\n";

describe("array types", () => {
  it("parse from the spec's spelling and print back", () => {
    expect(parseTypeName("u8[16]")).toEqual({ kind: "array", element: { kind: "int", size: 1, signed: false }, length: 16 });
    expect(parseTypeName("i64[6]")).toEqual({ kind: "array", element: { kind: "int", size: 8, signed: true }, length: 6 });
    expect(parseTypeName("u8[0]")).toBeUndefined();
    expect(parseTypeName("bool[2]")).toBeUndefined();
    expect(typeName(parseTypeName("u32[4]")!)).toBe("u32[4]");
    expect(sizeOf(parseTypeName("u64[6]")!)).toBe(48);
  });

  it("are aligned as their element: bytes anywhere, u64[N] on 8", () => {
    const layout = layoutStruct([m("saddr", "u8[4]"), m("port", "u16"), m("args", "u64[6]"), m("words", "u32[3]"), m("flag", "bool")]);
    expect(layout.members.map((x) => [x.name, x.offset])).toEqual([["args", 0], ["words", 48], ["port", 60], ["saddr", 62], ["flag", 66]]);
    expect(layout).toMatchObject({ size: 72, align: 8 });
  });
});

describe("tracefs arrays", () => {
  const format = (fields: string) => parseFormat("c", "e", `format:\n${fields}`).fields.map((f) => [f.name, f.access]);

  it("char arrays are text, every other array is copied element by element", () => {
    expect(format([
      "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;",
      "\tfield:__u8 saddr[4];\toffset:24;\tsize:4;\tsigned:0;",
      "\tfield:unsigned char addr[6];\toffset:28;\tsize:6;\tsigned:0;",
      "\tfield:unsigned long args[6];\toffset:40;\tsize:48;\tsigned:0;",
      "\tfield:long sysctl_mem[3];\toffset:88;\tsize:24;\tsigned:1;",
      "\tfield:u32 buf[];\toffset:112;\tsize:0;\tsigned:0;",
    ].join("\n"))).toEqual([
      ["comm", { kind: "char_array", length: 16 }],
      ["saddr", { kind: "array", type: parseTypeName("u8[4]") }],
      ["addr", { kind: "array", type: parseTypeName("u8[6]") }],
      ["args", { kind: "array", type: parseTypeName("u64[6]") }],
      ["sysctl_mem", { kind: "array", type: parseTypeName("i64[3]") }],
      ["buf", { kind: "unsized_array" }],
    ]);
  });

  it("an element type tracefs does not size is kept as bytes", () => {
    expect(format("\tfield:struct foo pairs[2];\toffset:8;\tsize:24;\tsigned:0;")).toEqual([["pairs", { kind: "array", type: parseTypeName("u8[24]") }]]);
  });
});

describe("arrays in specs", () => {
  it("inet_sock_set_state's addresses are bytes and raw_syscalls' args are six u64", () => {
    const { probe, diagnostics } = frontEnd(spec(`${tcp}    fields: [saddr, daddr, saddr_v6, sport]\n${sysEnter}    fields: [id, args]\n`));
    expect(diagnostics).toEqual([]);
    const types = probe!.events.flatMap((e) => e.fields.map((f) => [f.name, typeName(f.type)]));
    expect(types).toEqual([["saddr", "u8[4]"], ["daddr", "u8[4]"], ["saddr_v6", "u8[16]"], ["sport", "u16"], ["id", "i64"], ["args", "u64[6]"]]);
  });

  it("type: reads an array as other elements or a prefix of its bytes, and no more", () => {
    const fields = `    fields:\n      - { name: words, from: saddr_v6, type: "u32[4]" }\n      - { name: half, from: saddr_v6, type: "u8[8]" }\n      - { name: wide, from: saddr_v6, type: "u8[17]" }\n      - { name: one, from: saddr, type: u32 }\n`;
    const { diagnostics } = frontEnd(spec(`${tcp}${fields}`));
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:7:29: 'saddr_v6' is u8[16] and cannot be read as u8[17]",
      "probes/test.yaml:8:28: 'saddr' is u8[4] and cannot be read as u32",
    ]);
    expect(diagnostics[0]!.hint).toContain("at most 16 bytes");
  });

  it("a pointer is captured only when its address is asked for with type: u64", () => {
    const { diagnostics } = frontEnd(spec(`${tcp}    fields: [skaddr]\n`));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:14: 'skaddr' is a pointer (const void *): probegen copies an address into an event only when asked"]);
    expect(diagnostics[0]!.hint).toContain("type: u64");
    const asked = frontEnd(spec(`${tcp}    fields: [{ name: sk, from: skaddr, type: u64 }]\n    filter: skaddr != 0\n`));
    expect(asked.diagnostics).toEqual([]);
    expect(asked.probe!.events[0]!.fields[0]!.type).toEqual(parseTypeName("u64"));
  });

  it("a map key that takes a pointer must name a field that asked for its address", () => {
    const maps = "maps:\n  by_sock: { type: hash, key: u64, value: u64 }\n";
    const { diagnostics } = frontEnd(spec(`${tcp}    update: [{ map: by_sock, key: skaddr, count: true }]\n`, maps));
    expect(diagnostics.map((d) => d.message)).toEqual(["value: 'skaddr' is a pointer (const void *): a map holds an address only when asked"]);
    const asked = frontEnd(spec(`${tcp}    fields: [{ name: sk, from: skaddr, type: u64 }]\n    update: [{ map: by_sock, key: sk, count: true }]\n`, maps));
    expect(asked.diagnostics).toEqual([]);
  });

  it("filters cannot compare or compute with an array", () => {
    const { diagnostics } = frontEnd(spec(`${tcp}    filter: saddr == 16777343\n    fields: [pid]\n${sysEnter}    filter: args\n    fields: [pid]\n`));
    expect(diagnostics.map((d) => d.message)).toEqual([
      "filter: 'saddr' is an array (u8[4]), which cannot be compared or computed with",
      "a filter must be a condition, not an array",
    ]);
  });

  it("maps take array keys and values, copied from an array of the same size", () => {
    const maps = "maps:\n  by_addr:\n    type: hash\n    key: u8[16]\n    value: u64\n  last_args:\n    type: hash\n    key: u32\n    value: u64[6]\n";
    const ok = frontEnd(spec(`${tcp}    update: [{ map: by_addr, key: daddr_v6, count: true }]\n${sysEnter}    update: [{ map: last_args, key: pid, set: args }]\n`, maps));
    expect(ok.diagnostics).toEqual([]);
    const { diagnostics } = frontEnd(spec(`${tcp}    update: [{ map: by_addr, key: daddr, count: true }, { map: by_addr, key: sport, count: true }]\n`, maps));
    expect(diagnostics.map((d) => d.message)).toEqual(["cannot store u8[4] in u8[16]", "cannot store u16 in u8[16]"]);
  });

  it("a count cannot sum an array", () => {
    const maps = "maps:\n  total: { type: hash, key: u32, value: u64 }\n";
    const { diagnostics } = frontEnd(spec(`${sysEnter}    update: [{ map: total, key: pid, sum: args }]\n`, maps));
    expect(diagnostics.map((d) => d.message)).toEqual(["sum needs a number, and this is an array (u64[6])"]);
  });
});
