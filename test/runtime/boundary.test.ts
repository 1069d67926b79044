/**
 * Values crossing from TS into the kernel are checked where they cross: map keys and values
 * (the generated codecs) and runtime parameters (.rodata). A value that does not fit its C
 * type is refused with the map or parameter named and the type it must be, instead of
 * wrapping, becoming 0, or failing inside a JS internal. Minimal triggers from issue 13.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "runtime/boundary.test.ts");
const out = "test/.out/boundary";

const spec = `name: boundary
params:
  target_pid: { type: u32 }
  limit: { type: u64 }
  verbose: { type: bool }
maps:
  by_pid: { type: hash, key: u32, value: u64 }
  by_who: { type: hash, key: { uid: u32, comm: "string[16]" }, value: { calls: u64, last: i32, seen: bool } }
programs:
  - attach: tracepoint/syscalls/sys_enter_getppid
    filter: pid == params.target_pid && (params.verbose || params.limit > 0)
    fields: [pid]
    update:
      - { map: by_pid, key: pid, count: true }
`;

interface Map<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): boolean;
}
interface BoundaryProbe extends Disposable {
  events: { on(fn: (ev: unknown) => void): () => void };
  maps: { byPid: Map<number, bigint>; byWho: Map<{ uid: number; comm: string }, { calls: bigint; last: number; seen: boolean }> };
  close(): void;
}
type Params = { targetPid?: number; limit?: bigint | number; verbose?: boolean };
let load: (options?: { params?: Params }) => Promise<BoundaryProbe>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/boundary.yaml`, spec);
  const [result] = await buildSpecs([`${out}/boundary.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/boundary.ts`)).loadBoundary;
});

const u32Range = "a u32 (an integer in 0..4294967295)";

describe.skipIf(!support.ok)("values are checked at the TS boundary", () => {
  it("a u32 map key out of range or not a number is refused by get, set and delete, naming the map", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    const m = probe.maps.byPid;
    for (const op of [(k: never) => m.get(k), (k: never) => m.set(k, 1n as never), (k: never) => m.delete(k)]) {
      expect(() => op(2 ** 32 as never)).toThrow(new RangeError(`map 'by_pid' key must be ${u32Range}, got 4294967296`));
      expect(() => op(-1 as never)).toThrow(new RangeError(`map 'by_pid' key must be ${u32Range}, got -1`));
      expect(() => op(1.5 as never)).toThrow(new RangeError(`map 'by_pid' key must be ${u32Range}, got 1.5`));
      expect(() => op("abc" as never)).toThrow(new TypeError(`map 'by_pid' key must be ${u32Range}, got the string 'abc'`));
    }
    // Nothing was written under a wrapped key (2**32 would be 0, -1 would be 4294967295).
    expect(m.get(0)).toBeUndefined();
    expect(m.get(4294967295)).toBeUndefined();
    m.set(4294967295, 7n);
    expect(m.get(4294967295)).toBe(7n);
  });

  it("map values are checked too: a u64 takes a bigint or a safe integer", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    const m = probe.maps.byPid;
    m.set(1, 5 as never); // a safe integer is exact
    expect(m.get(1)).toBe(5n);
    expect(() => m.set(1, (2 ** 53 + 2) as never)).toThrow(
      "map 'by_pid' value must be a u64 (a bigint, or a safe integer, in 0..18446744073709551615), got 9007199254740994, a number beyond 2^53 that may have lost digits: pass a bigint",
    );
    expect(() => m.set(1, -1n)).toThrow("map 'by_pid' value must be a u64 (a bigint, or a safe integer, in 0..18446744073709551615), got -1n");
    expect(m.get(1)).toBe(5n);
  });

  it("a struct key or value missing a member says which member of which map", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    const m = probe.maps.byWho;
    const value = { calls: 1n, last: -2, seen: true };
    expect(() => m.get({ uid: 0 } as never)).toThrow(new TypeError("map 'by_who' key member 'comm' is missing: it must be a string of at most 15 UTF-8 bytes"));
    expect(() => m.set({ comm: "sh" } as never, value)).toThrow(new TypeError(`map 'by_who' key member 'uid' is missing: it must be ${u32Range}`));
    expect(() => m.set({ uid: 0, comm: "x".repeat(16) }, value)).toThrow(
      new RangeError("map 'by_who' key member 'comm' must be a string of at most 15 UTF-8 bytes, got 16 bytes"),
    );
    expect(() => m.set({ uid: 0, comm: "sh" }, { calls: 1n, last: 2 ** 31, seen: true })).toThrow(
      new RangeError("map 'by_who' value member 'last' must be an i32 (an integer in -2147483648..2147483647), got 2147483648"),
    );
    expect(() => m.set({ uid: 0, comm: "sh" }, { ...value, seen: 1 as never })).toThrow(
      new TypeError("map 'by_who' value member 'seen' must be a boolean, got 1"),
    );
    expect(() => m.get(null as never)).toThrow(new TypeError("map 'by_who' key must be an object with members uid, comm, got null"));
    m.set({ uid: 0, comm: "sh" }, value);
    expect(m.get({ uid: 0, comm: "sh" })).toEqual(value);
  });

  it("parameters: null, an unsafe number for a u64 and a number for a bool are refused, naming the parameter", async () => {
    await expect(load({ params: { targetPid: null as never } })).rejects.toThrow(
      new TypeError(`boundary: parameter 'targetPid' must be ${u32Range}, got null`),
    );
    await expect(load({ params: { targetPid: -1 } })).rejects.toThrow(new RangeError(`boundary: parameter 'targetPid' must be ${u32Range}, got -1`));
    await expect(load({ params: { limit: 2 ** 53 + 1 } })).rejects.toThrow(
      new RangeError(
        "boundary: parameter 'limit' must be a u64 (a bigint, or a safe integer, in 0..18446744073709551615), got 9007199254740992, a number beyond 2^53 that may have lost digits: pass a bigint",
      ),
    );
    await expect(load({ params: { verbose: 5 as never } })).rejects.toThrow(new TypeError("boundary: parameter 'verbose' must be a boolean, got 5"));
    await expect(load({ params: { targetPid: true as never } })).rejects.toThrow(
      new TypeError(`boundary: parameter 'targetPid' must be ${u32Range}, got true`),
    );
    // The right types still load, and undefined takes the default.
    using probe = await load({ params: { targetPid: process.pid, limit: 2n ** 60n, verbose: false } });
    expect(probe.maps.byPid.get(process.pid)).toBeUndefined();
    (await load({ params: { targetPid: undefined, limit: 2 ** 53 - 1 } })).close();
  });

  it("events.on() after close() throws instead of subscribing to nothing", async () => {
    const probe = await load({ params: { targetPid: process.pid } });
    probe.close();
    expect(() => probe.events.on(() => {})).toThrow("ring buffer 'events' is closed: on() cannot subscribe after close(); load the probe again to read more events");
  });
});
