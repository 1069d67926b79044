/** Stack records (readStack/writeStack) and flame graph samples from a map counted by stacks. */
import { describe, expect, it } from "vitest";
import { readStack, STACK_RECORD, writeStack, type StackTrace } from "../../src/runtime/stack.js";
import { keyHasStack, stackSamples } from "../../src/runtime/stack-samples.js";

describe("stack records", () => {
  it("round-trip: the pid of a user stack, its addresses up to the first zero word", () => {
    const view = new DataView(new ArrayBuffer(STACK_RECORD.words * 8 + 16));
    const stack: StackTrace = { kind: "user", addresses: [0x401136n, 0x7f0000001234n], pid: 4242 };
    writeStack(view, 16, "user", stack);
    expect(view.getBigUint64(16, true)).toBe(4242n);
    expect(readStack(view, 16, "user")).toEqual(stack);
    writeStack(view, 16, "kernel", { kind: "kernel", addresses: [0xffffffff81000000n], pid: 7 });
    expect(readStack(view, 16, "kernel")).toEqual({ kind: "kernel", addresses: [0xffffffff81000000n], pid: 0 });
  });

  it("refuse what a record cannot hold", () => {
    const view = new DataView(new ArrayBuffer(STACK_RECORD.words * 8));
    expect(() => writeStack(view, 0, "kernel", { kind: "user", addresses: [], pid: 1 })).toThrow("a kernel stack is needed here, got a user stack");
    expect(() => writeStack(view, 0, "user", { kind: "user", addresses: Array(128).fill(1n), pid: 1 })).toThrow("a stack holds at most 127 frames, got 128");
  });
});

describe("stackSamples", () => {
  // Names an address by the table; what a Symbolizer does with ELF files and kallsyms.
  const names = new Map([[1n, "main"], [2n, "work"], [3n, "write"], [10n, "entry_SYSCALL_64"], [11n, "ksys_write"]]);
  const namer = { stack: (t: StackTrace) => t.addresses.map((a) => ({ text: names.get(a) ?? "[unknown]" })) };
  const user = (pid: number, ...addresses: bigint[]): StackTrace => ({ kind: "user", addresses, pid });
  const kernel = (...addresses: bigint[]): StackTrace => ({ kind: "kernel", addresses, pid: 0 });

  it("puts the comm at the root, then user frames from main inward, then the kernel frames they called", () => {
    const samples = stackSamples([[{ pid: 5, comm: "app", ustack: user(5, 3n, 2n, 1n), kstack: kernel(11n, 10n) }, 7n]], namer);
    expect(samples).toEqual([{ frames: ["app", "main", "work", "write", "entry_SYSCALL_64", "ksys_write"], count: 7 }]);
  });

  it("adds up keys whose frames read the same (two pids of one command), per-CPU totals and numbers alike", () => {
    const samples = stackSamples([
      [{ comm: "app", ustack: user(5, 2n, 1n) }, 2n],
      [{ comm: "app", ustack: user(6, 2n, 1n) }, { perCpu: [1n, 2n], total: 3n }],
      [{ comm: "app", ustack: user(6, 1n) }, 4],
      [{ comm: "app", ustack: user(6, 1n) }, 0n],
    ], namer);
    expect(samples).toEqual([{ frames: ["app", "main", "work"], count: 5 }, { frames: ["app", "main"], count: 4 }]);
  });

  it("names the process by its pid when the key has no comm (this process here, 'pid N' once gone)", () => {
    const samples = stackSamples([[user(process.pid, 1n), 1], [kernel(10n), 2]], namer);
    expect(samples[0]!.frames[1]).toBe("main");
    expect(samples[0]!.frames[0]).toMatch(/^(node|vitest|\S+)$/);
    expect(samples[1]).toEqual({ frames: ["entry_SYSCALL_64"], count: 2 });
    expect(stackSamples([[{ pid: 2 ** 22 + 1, kstack: kernel(10n) }, 1]], namer)[0]!.frames[0]).toBe(`pid ${2 ** 22 + 1}`);
  });

  it("keyHasStack tells maps keyed by stacks", () => {
    expect([keyHasStack(kernel()), keyHasStack({ comm: "x", ustack: user(1) }), keyHasStack({ pid: 1 }), keyHasStack(3)]).toEqual([true, true, false, false]);
  });
});
