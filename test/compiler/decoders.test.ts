/**
 * Which values decode, and how (decode.ts): automatic for print fmt tables and syscall numbers,
 * `decode:` checked against the value's type, map keys inferred from their updates or declared.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { IrDecoder } from "../../src/compiler/decode.js";
import type { KernelInfo } from "../../src/compiler/resolve.js";
import { Btf } from "../../src/kernel/btf/index.js";
import { fixtureKernel, frontEnd, located } from "../helpers/compile.js";

const vmlinux = "/sys/kernel/btf/vmlinux";
const hasBtf = existsSync(vmlinux);
if (!hasBtf) console.warn(`[decoders.test.ts] SKIPPING the BTF enum cases: no kernel BTF at ${vmlinux}`);
let btf: Btf | undefined;
const withBtf: KernelInfo = { ...fixtureKernel, btf: () => (btf ??= Btf.fromFile(vmlinux)) };

const tcp = "  - attach: tracepoint/sock/inet_sock_set_state\n";
const openat = "  - attach: tracepoint/syscalls/sys_enter_openat\n";
const sysEnter = "  - attach: tracepoint/raw_syscalls/sys_enter\n";

/** What each field of the first event decodes as: a table's name, or the decoder's kind. */
function decoders(text: string): Record<string, string | undefined> {
  const { probe, diagnostics } = frontEnd(text);
  expect(located(diagnostics)).toEqual([]);
  return Object.fromEntries(probe!.events[0]!.fields.map((f) => [f.name, shown(f.decode)]));
}

function shown(d: IrDecoder | undefined): string | undefined {
  if (!d) return undefined;
  return d.kind === "symbolic" || d.kind === "flags" ? `${d.kind}:${d.table.tsName}` : d.kind === "wallclock" ? `wallclock:${d.clock}` : d.kind;
}

function errors(text: string): string[] {
  return located(frontEnd(text).diagnostics);
}

describe("automatic decoders", () => {
  it("print fmt tables name a tracepoint's fields; old/new share one table; decode: none keeps the number", () => {
    expect(decoders(`name: t\nprograms:\n${tcp}    fields: [oldstate, newstate, family, protocol, sport, { name: raw, from: newstate, decode: none }]\n`))
      .toEqual({ oldstate: "symbolic:State", newstate: "symbolic:State", family: "symbolic:Family", protocol: "symbolic:Protocol", sport: undefined, raw: undefined });
  });

  it("syscall numbers: raw_syscalls' id and every syscalls tracepoint's __syscall_nr", () => {
    expect(decoders(`name: t\nprograms:\n${sysEnter}    fields: [id]\n`)).toEqual({ id: "symbolic:Syscall" });
    expect(decoders(`name: t\nprograms:\n${openat}    fields: [{ name: nr, from: __syscall_nr }, flags]\n`)).toEqual({ nr: "symbolic:Syscall", flags: undefined });
  });

  it("decode: names a decoder; wallclock follows the clock of its value", () => {
    expect(decoders(`name: t\nprograms:\n${openat}    fields:\n` +
      "      - { name: f, from: flags, decode: open_flags }\n      - { name: err, from: dfd, decode: errno }\n      - { name: sig, from: dfd, decode: signal }\n" +
      "      - { name: at, from: ktime, decode: wallclock }\n      - { name: boot, from: boot_ns, decode: wallclock }\n"))
      .toEqual({ f: "flags:OpenFlags", err: "symbolic:Errno", sig: "symbolic:Signal", at: "wallclock:monotonic", boot: "wallclock:boottime" });
    expect(decoders(`name: t\nprograms:\n${tcp}    fields:\n      - { name: a, from: saddr, decode: ipv4 }\n      - { name: b, from: saddr_v6, decode: inet_addr }\n      - { name: p, from: sport, decode: port }\n`))
      .toEqual({ a: "ipv4", b: "inet_addr", p: "port" });
  });
});

describe.skipIf(!hasBtf)("BTF enums", () => {
  it("an enum-typed CO-RE member or tp_btf argument reads as the enum's names, the table named after the enum", () => {
    const { probe, diagnostics } = frontEnd(`name: t\nprograms:\n${openat}    fields: [{ name: hint, from: task.fs.pwd.dentry.d_inode.i_write_hint }]\n`, "probes/test.yaml", withBtf);
    expect(located(diagnostics)).toEqual([]);
    const hint = probe!.events[0]!.fields[0]!.decode!;
    expect(shown(hint)).toBe("symbolic:RwHint");
    expect(hint.kind === "symbolic" && hint.table.entries[0]).toEqual({ value: 0n, name: "WRITE_LIFE_NOT_SET" });
    // dma_map_phys(dev, phys, dma, size, enum dma_data_direction dir, attrs), where the kernel has it.
    const tp = frontEnd("name: t\nprograms:\n  - attach: tp_btf/dma_map_phys\n    fields: [arg4]\n", "probes/test.yaml", withBtf);
    if (tp.probe) expect(shown(tp.probe.events[0]!.fields[0]!.decode)).toBe("symbolic:DmaDataDirection");
  });
});

describe("decode: errors", () => {
  it("a decoder the value's type does not fit is an error at the decode key", () => {
    expect(errors(`name: t\nprograms:\n${tcp}    fields:\n      - { name: a, from: saddr_v6, decode: ipv4 }\n`))
      .toEqual(["probes/test.yaml:5:44: 'ipv4' decodes 4 bytes (u8[4] or u32) in network byte order, and this is u8[16]"]);
    expect(errors(`name: t\nprograms:\n${tcp}    fields:\n      - { name: t, from: ktime, decode: ksym, type: u32 }\n`)[0])
      .toMatch(/'ksym' decodes a kernel address \(u64\), and this is u32/);
    expect(errors(`name: t\nprograms:\n${openat}    fields:\n      - { name: f, from: flags, decode: symbolic }\n`)[0])
      .toMatch(/'symbolic' decodes with the tracepoint's own __print_symbolic table, and this value has none/);
    expect(errors(`name: t\nprograms:\n${openat}    fields:\n      - { name: f, from: comm, decode: errno }\n`)[0])
      .toMatch(/'errno' decodes an integer, and this is string\[16\]/);
  });
});

describe("map keys", () => {
  const counts = (key: string, decode = "") => `name: t\nmaps:\n  counts: { type: hash, key: ${key}, value: u64${decode} }\nprograms:\n`;

  it("a key filled from syscall ids by every update reads as syscall names", () => {
    const { probe } = frontEnd(`${counts("u32")}${sysEnter}    update:\n      - { map: counts, key: id, count: true }\n${openat}    update:\n      - { map: counts, key: __syscall_nr, count: true }\n`);
    const key = probe!.maps.find((m) => m.name === "counts")!.key!;
    expect(key.kind === "scalar" && shown(key.decode)).toBe("symbolic:Syscall");
  });

  it("updates that disagree leave the key a number; decode: says it instead, or none", () => {
    const disagree = `${sysEnter}    update:\n      - { map: counts, key: id, count: true }\n      - { map: counts, key: pid, count: true }\n`;
    const key = (text: string) => { const k = frontEnd(text).probe!.maps.find((m) => m.name === "counts")!.key!; return k.kind === "scalar" ? shown(k.decode) : "struct"; };
    expect(key(`${counts("u32")}${disagree}`)).toBeUndefined();
    expect(key(`${counts("u32", ", decode: syscall")}${disagree}`)).toBe("symbolic:Syscall");
    expect(key(`${counts("u32", ", decode: none")}${sysEnter}    update:\n      - { map: counts, key: id, count: true }\n`)).toBeUndefined();
  });

  it("struct keys decode per member; a member that is not there is an error", () => {
    const text = `${counts("{ nr: u32, err: i32 }", ", decode: { err: errno }")}${sysEnter}    update:\n      - { map: counts, key: { nr: id, err: pid }, count: true }\n`;
    const { probe } = frontEnd(text);
    const key = probe!.maps.find((m) => m.name === "counts")!.key!;
    expect(key.kind === "struct" && key.struct.members.map((m) => shown(m.decode))).toEqual(["symbolic:Syscall", "symbolic:Errno"]);
    expect(errors(`${counts("{ nr: u32 }", ", decode: { nx: errno }")}${sysEnter}    update:\n      - { map: counts, key: { nr: id }, count: true }\n`)[0])
      .toMatch(/the key of 'counts' has no member 'nx'/);
    expect(errors(`${counts("{ nr: u32 }", ", decode: errno")}${sysEnter}    update:\n      - { map: counts, key: { nr: id }, count: true }\n`)[0])
      .toMatch(/the key of 'counts' is a struct: say which member to decode/);
  });

  it("a value every update sets from a decoded value decodes too; counts and per-CPU values do not", () => {
    const map = (type: string, update: string) => {
      const { probe, diagnostics } = frontEnd(`name: t\nmaps:\n  last: { type: ${type}, key: u32, value: i32 }\nprograms:\n${tcp}    update:\n${update}`);
      expect(located(diagnostics)).toEqual([]);
      const v = probe!.maps.find((m) => m.name === "last")!.value!;
      return v.kind === "scalar" ? shown(v.decode) : "struct";
    };
    expect(map("hash", "      - { map: last, key: pid, set: newstate }\n      - { map: last, key: tid, delete: true }\n")).toBe("symbolic:State");
    expect(map("hash", "      - { map: last, key: pid, set: newstate }\n      - { map: last, key: tid, sum: newstate }\n")).toBeUndefined();
    expect(map("percpu_hash", "      - { map: last, key: pid, set: newstate }\n")).toBeUndefined();
  });
});
