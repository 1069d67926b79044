/**
 * Call stacks (`kstack`, `ustack`) as programs capture them and as TypeScript reads them.
 *
 * A program copies a stack by value with bpf_get_stack into a fixed record, as bpftrace does
 * for its stack keys, rather than keeping a stack id into a BPF_MAP_TYPE_STACK_TRACE map (BCC's
 * and libbpf-tools' profile): a stack map's buckets are hashed by stack, and two stacks that
 * collide either lose the newer one (bpf_get_stackid fails with -EEXIST) or overwrite the older
 * one (BPF_F_REUSE_STACKID) that a counting key or an event in flight still names. A record
 * needs no second map to size, no lookup per id, and stays right however long it waits in a
 * ring buffer. It costs bytes: a key of two stacks is 2 KiB, hashed once per sample.
 */

/**
 * The record a stack is copied into, a u64 array of `words` words: word 0 holds the pid whose
 * address space the addresses belong to (0 for kernel stacks, which are one address space, so
 * that counting by kstack does not split by process), then up to `frames` return addresses,
 * innermost first, the unused words 0. 127 frames is the kernel's default
 * kernel.perf_event_max_stack (bpf_get_stack stops at that sysctl when it is lower). A walk
 * that fails (a kernel thread has no user stack: -EFAULT) leaves no addresses.
 */
export const STACK_RECORD = { words: 128, frames: 127, pidWord: 0, firstFrameWord: 1 } as const;

/** A captured call stack: return addresses innermost first, and the process they belong to. */
export interface StackTrace {
  kind: "kernel" | "user";
  /** Innermost frame first; empty when the walk failed (no user stack in a kernel thread). */
  addresses: bigint[];
  /** The process a user stack was taken in (its addresses are in that address space); 0 for a kernel stack. */
  pid: number;
}

/** Reads a stack record at `offset`: its addresses up to the first unused (0) word. */
export function readStack(view: DataView, offset: number, kind: "kernel" | "user"): StackTrace {
  const pid = Number(view.getBigUint64(offset + STACK_RECORD.pidWord * 8, true) & 0xffffffffn);
  const addresses: bigint[] = [];
  for (let i = STACK_RECORD.firstFrameWord; i < STACK_RECORD.words; i++) {
    const address = view.getBigUint64(offset + i * 8, true);
    if (address === 0n) break;
    addresses.push(address);
  }
  return { kind, addresses, pid };
}

/** Writes a stack as a record (to look a stack key up from TS); RangeError when it does not fit. */
export function writeStack(view: DataView, offset: number, kind: "kernel" | "user", stack: StackTrace): void {
  if (stack.kind !== kind) throw new RangeError(`a ${kind} stack is needed here, got a ${stack.kind} stack`);
  if (stack.addresses.length > STACK_RECORD.frames) throw new RangeError(`a stack holds at most ${STACK_RECORD.frames} frames, got ${stack.addresses.length}`);
  if (!Number.isInteger(stack.pid) || stack.pid < 0 || stack.pid > 0xffffffff) throw new RangeError(`a stack's pid must be a u32, got ${stack.pid}`);
  view.setBigUint64(offset + STACK_RECORD.pidWord * 8, BigInt(kind === "kernel" ? 0 : stack.pid), true);
  for (let i = STACK_RECORD.firstFrameWord; i < STACK_RECORD.words; i++) {
    const address = stack.addresses[i - STACK_RECORD.firstFrameWord] ?? 0n;
    if (address < 0n || address > 0xffffffffffffffffn) throw new RangeError(`a stack address must be a u64, got ${address}`);
    view.setBigUint64(offset + i * 8, address, true);
  }
}
