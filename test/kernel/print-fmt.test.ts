/**
 * The `print fmt:` tables of real tracefs formats (copied from a 6.x kernel) and the build-time
 * tables probegen decodes with: syscall numbers, open flags, errno; and the runtime's formatting
 * of flags, addresses and ports.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluate, parsePrintFmt } from "../../src/kernel/print-fmt.js";
import { parseFormat } from "../../src/kernel/tracefs.js";
import { errnoTable, openFlagsTable, parseOpenFlags, parseSyscallHeader, signalTable, syscallHeader } from "../../src/compiler/decode.js";
import { flagsDecoder, flagsValue, inetAddr, ipv4, ipv6, rawValue, symbolNames, symbolOf, writeInetAddr } from "../../src/runtime/decoders.js";

const format = (path: string) => readFileSync(path, "utf8");
const entries = (t: { entries: Array<{ value: bigint; name: string }> } | undefined) => t?.entries.map((e) => [Number(e.value), e.name]);

describe("print fmt tables", () => {
  it("inet_sock_set_state: family, protocol and both states decode by the kernel's names", () => {
    const tp = parseFormat("sock", "inet_sock_set_state", format("test/fixtures/tracefs/events/sock/inet_sock_set_state/format"));
    const field = (name: string) => tp.fields.find((f) => f.name === name)!;
    expect(field("family").printed).toEqual({ kind: "symbolic", entries: [{ value: 2n, name: "AF_INET" }, { value: 10n, name: "AF_INET6" }] });
    expect(entries(field("protocol").printed)).toEqual([[6, "IPPROTO_TCP"], [132, "IPPROTO_SCTP"], [262, "IPPROTO_MPTCP"]]);
    expect(entries(field("newstate").printed)).toHaveLength(12);
    expect(entries(field("oldstate").printed)![0]).toEqual([1, "TCP_ESTABLISHED"]);
    expect(entries(field("newstate").printed)!.at(-1)).toEqual([12, "TCP_NEW_SYN_RECV"]);
    // Printed with %hu and %pI4: no table.
    expect(field("sport").printed).toBeUndefined();
    expect(field("saddr").printed).toBeUndefined();
  });

  it("__print_flags with a plain field: the table with its hex values", () => {
    const tp = parseFormat("ext4", "ext4_allocate_blocks", format("test/fixtures/print-fmt/ext4_allocate_blocks.format"));
    const flags = tp.fields.find((f) => f.name === "flags")!.printed!;
    expect(flags.kind).toBe("flags");
    expect(entries(flags)!.slice(0, 3)).toEqual([[1, "HINT_MERGE"], [8, "HINT_FIRST"], [0x20, "HINT_DATA"]]);
  });

  it("an argument that is not the field itself, or values left as macros, give no table", () => {
    // alarmtimer_fired prints (1 << REC->alarm_type); writeback's values are unexpanded macros (I_DIRTY_SYNC).
    const alarm = parseFormat("alarmtimer", "alarmtimer_fired", format("test/fixtures/print-fmt/alarmtimer_fired.format"));
    expect(alarm.fields.some((f) => f.printed)).toBe(false);
    const wb = parseFormat("writeback", "writeback_dirty_inode", format("test/fixtures/print-fmt/writeback_dirty_inode.format"));
    expect(wb.fields.some((f) => f.printed)).toBe(false);
    // sched_switch masks prev_state inside a ?: expression: not the field's own values.
    const sw = parseFormat("sched", "sched_switch", format("test/fixtures/print-fmt/sched_switch.format"));
    expect(sw.fields.some((f) => f.printed)).toBe(false);
  });

  it("nested parentheses, commas and braces inside names, and constant expressions as values", () => {
    const t = parsePrintFmt(`"%s %s", __print_symbolic(REC->a, { (1 << 2) | 1, "A, (b)" }, { 0x10UL, "}B{" }), __print_flags((REC->b), "|", { 010, "OCT" }, { -1, "NEG" })`);
    expect(entries(t.get("a"))).toEqual([[5, "A, (b)"], [16, "}B{"]]);
    expect(entries(t.get("b"))).toEqual([[8, "OCT"], [-1, "NEG"]]);
    expect(evaluate("((unsigned long)1 << 40) + 2 * 3")).toBe((1n << 40n) + 6n);
    expect(evaluate("I_DIRTY_SYNC")).toBeUndefined();
    expect(evaluate("1 +")).toBeUndefined();
  });
});

describe("build-time tables", () => {
  it("x86_64 syscall numbers from asm/unistd_64.h, arm64's from asm-generic/unistd.h", () => {
    const x86 = `#define __NR_read 0\n#define __NR_write 1\n#define __NR_openat 257\n#define __NR_pread64 17\n`;
    expect(parseSyscallHeader(x86)).toEqual([{ value: 0n, name: "read" }, { value: 1n, name: "write" }, { value: 17n, name: "pread64" }, { value: 257n, name: "openat" }]);
    // asm-generic: numbers through other macros, the 64-bit name first.
    const generic = [
      "#define __NR3264_fcntl 25", "#define __NR_openat 56", "#define __NR_read 63", "#define __NR_pread64 67",
      "#define __NR_arch_specific_syscall 244", "#define __NR_riscv_flush_icache (__NR_arch_specific_syscall + 15)",
      "#if __BITS_PER_LONG == 64", "#define __NR_fcntl __NR3264_fcntl", "#else", "#define __NR_fcntl64 __NR3264_fcntl", "#endif",
      "#define __NR_syscalls 463",
    ].join("\n");
    const arm = new Map(parseSyscallHeader(generic).map((e) => [e.name, Number(e.value)]));
    expect(Object.fromEntries(arm)).toEqual({ fcntl: 25, openat: 56, read: 63, pread64: 67, riscv_flush_icache: 259 });
    const header = syscallHeader();
    if (header && process.arch === "x64") {
      const host = new Map(parseSyscallHeader(readFileSync(header, "utf8")).map((e) => [e.name, Number(e.value)]));
      expect([host.get("read"), host.get("openat"), host.get("execve"), host.get("getpid")]).toEqual([0, 257, 59, 39]);
    }
  });

  it("open flags from the kernel headers: the access mode is a choice, the rest are bits", () => {
    const text = flagsDecoder(openFlagsTable().entries.map((e) => [Number(e.value), Number(e.mask ?? e.value), e.name] as const));
    expect(text(0)).toBe("O_RDONLY");
    expect(text(0o1 | 0o100 | 0o2000000)).toBe("O_WRONLY|O_CREAT|O_CLOEXEC");
    expect(text(0o2 | 0o200000)).toBe("O_RDWR|O_DIRECTORY");
    expect(text(0o20200000 | 0o2)).toBe("O_RDWR|O_TMPFILE");
    expect(text(0o2 | 0x80000000)).toBe("O_RDWR|0x80000000");
    const consts = Object.fromEntries(openFlagsTable().entries.map((e) => [e.name, Number(e.value)]));
    expect(flagsValue(consts, "O_WRONLY|O_CREAT|O_CLOEXEC")).toBe(0o1 | 0o100 | 0o2000000);
    // An architecture's own header wins over asm-generic's (arm64's O_DIRECTORY is 040000).
    const arm = parseOpenFlags("#define O_RDONLY 00\n#define O_WRONLY 01\n#define O_RDWR 02\n#define O_DIRECTORY 0200000\n", "#define O_DIRECTORY 040000\n");
    expect(arm.find((e) => e.name === "O_DIRECTORY")!.value).toBe(0o40000n);
  });

  it("errno and signal names, aliases keeping the first name", () => {
    const errno = new Map(errnoTable().entries.map((e) => [Number(e.value), e.name]));
    expect([errno.get(2), errno.get(13), errno.get(11)]).toEqual(["ENOENT", "EACCES", "EAGAIN"]);
    const signals = new Map(signalTable().entries.map((e) => [Number(e.value), e.name]));
    expect([signals.get(9), signals.get(15), signals.get(6)]).toEqual(["SIGKILL", "SIGTERM", "SIGABRT"]);
  });
});

describe("runtime decoders", () => {
  it("symbols: the name, or the number the table lacks; rawValue goes back", () => {
    const State = { TCP_ESTABLISHED: 1, TCP_CLOSE: 7 } as const;
    const names = symbolNames(State);
    expect(symbolOf(names, 7)).toBe("TCP_CLOSE");
    expect(symbolOf(names, 99)).toBe(99);
    expect(rawValue(State, "TCP_ESTABLISHED")).toBe(1);
    expect(rawValue(State, 99)).toBe(99);
    expect(() => rawValue(State, "TCP_NOPE" as never)).toThrow(/not one of TCP_ESTABLISHED, TCP_CLOSE/);
  });

  it("addresses in network byte order, and back", () => {
    const view = new DataView(new ArrayBuffer(32));
    [127, 0, 0, 1].forEach((b, i) => view.setUint8(i, b));
    expect(ipv4(view, 0)).toBe("127.0.0.1");
    view.setUint8(16 + 15, 1);
    expect(ipv6(view, 16)).toBe("::1");
    writeInetAddr(view, 16, 16, "127.0.0.1");
    expect(ipv6(view, 16)).toBe("::ffff:127.0.0.1");
    expect(inetAddr(view, 16, 16)).toBe("127.0.0.1");
    writeInetAddr(view, 16, 16, "fe80::1:0:0:2");
    expect(ipv6(view, 16)).toBe("fe80::1:0:0:2");
    writeInetAddr(view, 16, 16, "2001:db8:0:0:1:0:0:1");
    expect(ipv6(view, 16)).toBe("2001:db8::1:0:0:1"); // RFC 5952: the first of two equal runs
    expect(() => writeInetAddr(view, 0, 4, "::1")).toThrow(/not an IPv4 address/);
  });

  it("a port in network byte order reads as the number a person writes", () => {
    const view = new DataView(new ArrayBuffer(2));
    view.setUint16(0, 8080, false); // htons(8080) as the kernel stores it
    expect(view.getUint16(0, true)).not.toBe(8080);
    expect(view.getUint16(0, false)).toBe(8080);
  });
});
