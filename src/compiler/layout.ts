/**
 * Layout: the one place that decides sizes and offsets. The C emitter declares structs in this
 * order and asserts these numbers with _Static_assert; the TS emitter reads at these offsets.
 */
import { alignOf, sizeOf, type ScalarOrString } from "./types.js";

export interface LayoutMember {
  name: string;
  type: ScalarOrString;
  offset: number;
}

export interface StructLayout {
  size: number;
  align: number;
  /** Members in memory order. */
  members: LayoutMember[];
}

/**
 * Lays out members with natural alignment. Members are ordered by alignment, largest first
 * (stable), which removes inner padding; `pinned` members keep their place at the front.
 */
export function layoutStruct(
  members: ReadonlyArray<{ name: string; type: ScalarOrString }>,
  pinned: ReadonlyArray<{ name: string; type: ScalarOrString }> = [],
): StructLayout {
  const ordered = [...pinned, ...[...members].sort((a, b) => alignOf(b.type) - alignOf(a.type))];
  let offset = 0;
  let align = 1;
  const placed: LayoutMember[] = [];
  for (const m of ordered) {
    const a = alignOf(m.type);
    offset = roundUp(offset, a);
    placed.push({ name: m.name, type: m.type, offset });
    offset += sizeOf(m.type);
    align = Math.max(align, a);
  }
  return { size: roundUp(Math.max(offset, 1), align), align, members: placed };
}

/** What the kernel puts before each ring buffer record (BPF_RINGBUF_HDR_SZ). */
export const RING_HEADER = 8;

/** The bytes a record of this layout takes in a ring buffer: its header, rounded up to 8 as the kernel does. */
export function ringRecordSize(layout: StructLayout): number {
  return roundUp(layout.size + RING_HEADER, 8);
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
