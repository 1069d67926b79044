/**
 * The size and limit classes the spec fuzzer found (issue 13): keys, values and stashed strings
 * too big for the BPF stack or for clang's inline copies, events bigger than their ring, maps
 * the kernel cannot honour, and the documented specs as written. Each minimal trigger either
 * builds and behaves on the real kernel, or is refused at its place in the spec before clang.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { frontEnd, located } from "../helpers/compile.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "compiler/fuzz-sizes.test.ts");
const out = "test/.out/fuzz-sizes";
const target = `/tmp/probegen-sizes-${process.pid}-${"x".repeat(120)}`;
writeFileSync(target, "");
afterAll(() => rmSync(target, { force: true }));

/** The same file by a path of `length` bytes: ./ components make it as long as PATH_MAX allows. */
const longPath = (length: number) => `/tmp/${"./".repeat(Math.ceil((length - target.length) / 2))}${target.slice(5)}`;
const opens = (file: string, n: number) => {
  for (let i = 0; i < n; i++) closeSync(openSync(file, "a"));
};
const comm = () => readFileSync("/proc/thread-self/comm", "utf8").trim();

/** Builds `spec` (named `name`) with clang, failing the test on any diagnostic, and imports its loader. */
async function build(name: string, spec: string): Promise<Record<string, any>> {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/${name}.yaml`, spec);
  const [result] = await buildSpecs([`${out}/${name}.yaml`], { outDir: out });
  expect(located(result!.diagnostics)).toEqual([]);
  return import(/* @vite-ignore */ `${process.cwd()}/${out}/${name}.ts`);
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("keys and values bigger than the BPF stack", () => {
  const spec = `name: bigkeys
params:
  target_pid: { type: u32 }
maps:
  by_comm: { type: hash, key: "string[600]", value: u64 }
  by_pair: { type: hash, key: { pid: u32, comm: "string[700]" }, value: { opens: u64, path: "string[4000]" } }
  last: { type: array, value: "string[9999]", max_entries: 1 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    filter: pid == params.target_pid
    update:
      - { map: by_comm, key: comm, count: true }
      - { map: by_pair, key: { pid: pid, comm: comm }, set: { opens: 1, path: filename } }
      - { map: last, set: filename }
`;

  it("a 600-byte string key, a struct key and a 4000-byte struct value are built off the stack", async () => {
    const { probe, diagnostics } = frontEnd(spec);
    expect(diagnostics).toEqual([]);
    const updates = probe!.programs[0]!.updates;
    expect(updates.map((u) => [u.keyBuffer?.name, u.valueBuffer?.name])).toEqual([
      ["pg_keybuf_by_comm", undefined], ["pg_keybuf_by_pair", "pg_valuebuf_by_pair"], [undefined, "pg_valuebuf_last"],
    ]);
  });

  it.skipIf(!support.ok)("they build with clang, load, and count exactly on the running kernel", async () => {
    const { loadBigkeys } = await build("bigkeys", spec);
    const name = comm(); // (reading it opens a file)
    using probe = await loadBigkeys({ params: { targetPid: process.pid } });
    opens(target, 5);
    expect(probe.maps.byComm.get(name)).toBe(5n);
    expect([...probe.maps.byPair.entries()]).toEqual([[{ pid: process.pid, comm: name }, { opens: 1n, path: target }]]);
    expect(probe.maps.last.get(0)).toBe(target);
    // The buffers are cleared before each build: a shorter string leaves no bytes of the longer.
    opens(target.slice(0, 40), 1);
    expect(probe.maps.last.get(0)).toBe(target.slice(0, 40));
  });

  it("a key or value over 32 KiB is refused at the map, with the limit", () => {
    const { diagnostics } = frontEnd(`name: t
maps:
  huge: { type: hash, key: u32, value: { a: "u64[4096]", b: "u64[100]" } }
  fine: { type: hash, key: u32, value: "string[9999]" }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    update: [{ map: fine, key: pid, set: filename }]
`);
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:3:3: map 'huge' has a 33568-byte value; programs build keys and values in per-CPU memory, which holds at most 32768 bytes",
    ]);
  });
});

describe("maps the kernel cannot honour", () => {
  it("a map asking for more than 1 GiB is refused at its declaration, naming its size", () => {
    const { diagnostics } = frontEnd(`name: t
maps:
  m: { type: hash, key: "string[256]", value: "string[256]", max_entries: 16777216 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    update: [{ map: m, key: comm, set: comm }]
`);
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:3:3: map 'm' would take 8192 MiB of kernel memory (16777216 entries of 256 + 256 bytes); the limit is 1024 MiB a map",
    ]);
    expect(diagnostics[0]!.hint).toBe("lower max_entries, or make the key or value smaller");
  });
});

describe("events bigger than their ring", () => {
  it("is refused at the program, naming the event, its record with the header, and the ring", () => {
    const { diagnostics } = frontEnd(`name: t
maps:
  small: { type: ringbuf, size: 4096 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    event: big
    output: small
    fields: [{ name: path, from: filename, size: 4096 }, pid]
`);
    expect(located(diagnostics)).toEqual([
      "probes/test.yaml:5:5: event 'big' takes 4112 bytes in a ring buffer (4100 of fields and an 8-byte header); ring buffer 'small' has 4096 bytes, so every event would be dropped",
    ]);
    expect(diagnostics[0]!.hint).toBe("give 'small' a size of at least 8KiB, or capture shorter strings (size:)");
  });

  it("an event filling the default ring is refused with how to declare a bigger one", () => {
    const fields = Array.from({ length: 64 }, (_, i) => `{ name: p${i}, from: filename, size: 4096 }`).join(", ");
    const { diagnostics } = frontEnd(`name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [${fields}]\n`);
    expect(diagnostics.map((d) => [d.code, d.hint])).toEqual([
      ["event-too-big", "declare 'maps: { events: { type: ringbuf, size: 512KiB } }', or capture shorter strings (size:)"],
    ]);
  });

  it.skipIf(!support.ok)("a loader option that shrinks a ring below its event is an error naming the ring", async () => {
    const { loadRingfit } = await build("ringfit", `name: ringfit
maps:
  small: { type: ringbuf, size: 8KiB }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    output: small
    fields: [{ name: path, from: filename, size: 4096 }]
`);
    await expect(loadRingfit({ maps: { small: { size: 4096 } } })).rejects.toThrow(
      "ring buffer 'small' of 4096 bytes cannot hold its largest event (4104 bytes with its header): every such event would be dropped; give it at least 8192",
    );
  });
});

describe("long strings copied from an entry to its exit", () => {
  const spec = (name: string, sizes: number[], ring: string) => `name: ${name}
params:
  target_pid: { type: u32 }
maps:
  ring: { type: ringbuf, size: ${ring} }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    exit: true
    filter: pid == params.target_pid
    output: ring
    fields: [${sizes.map((s, i) => `{ name: s${i}, from: filename, size: ${s} }`).join(", ")}, ret]
`;

  it.skipIf(!support.ok)("strings of 2048 and 2049 bytes (past clang's inline memcpy) reach the event whole", async () => {
    const { loadCopy2k } = await build("copy2k", spec("copy2k", [2048, 2049], "8KiB"));
    using probe = await loadCopy2k({ params: { targetPid: process.pid } });
    const events: Array<{ s0: string; s1: string; ret: bigint }> = [];
    probe.streams.ring.on((e: { s0: string; s1: string; ret: bigint }) => events.push(e));
    const path = longPath(2100);
    opens(path, 1);
    for (let i = 0; i < 100 && events.length < 1; i++) await settle();
    // Each field keeps as much as it holds, less its terminating NUL.
    expect(events.map((e) => [e.s0 === path.slice(0, 2047), e.s1 === path.slice(0, 2048), e.ret >= 0n])).toEqual([[true, true, true]]);
  });

  it.skipIf(!support.ok)("the longest strings the schema allows (4096 bytes) is stashed, copied and verified", async () => {
    const { loadCopy4k } = await build("copy4k", spec("copy4k", [4096, 4096, 4096], "64KiB"));
    using probe = await loadCopy4k({ params: { targetPid: process.pid } });
    const events: Array<{ s0: string; s2: string }> = [];
    probe.streams.ring.on((e: { s0: string; s2: string }) => events.push(e));
    const path = longPath(4000);
    opens(path, 2);
    for (let i = 0; i < 100 && events.length < 2; i++) await settle();
    expect(path.length).toBeGreaterThan(3900);
    expect(events.map((e) => [e.s0 === path, e.s2 === path])).toEqual([[true, true], [true, true]]);
  });

  it("entry values over the per-CPU limit are refused at the program", () => {
    const fields = [0, 1, 2, 3, 4].flatMap((i) => ["user", "kernel"].map((k) => `{ name: ${k}${i}, from: arg${i}, type: ${k}_string, size: 4096 }`)).join(", ");
    const { diagnostics } = frontEnd(`name: t\nmaps:\n  events: { type: ringbuf, size: 64KiB }\nprograms:\n  - attach: kprobe/do_sys_openat2\n    exit: true\n    fields: [${fields}]\n`);
    expect(diagnostics.map((d) => [d.code, d.span?.line])).toEqual([["stash-too-big", 5]]);
    expect(diagnostics[0]!.message).toMatch(/^the entry of 'do_sys_openat2' keeps 40968 bytes for its exit \(arg0: string\[4096\], .*\); it is built in per-CPU memory, which holds at most 32768 bytes$/);
  });
});

describe("strings a filter compares", () => {
  it("two uncaptured 256-byte strings fit the stack: only the bytes compared are read", async () => {
    await build("tworenames", `name: tworenames
maps:
  m: { type: hash, key: u32, value: u64 }
programs:
  - attach: tracepoint/syscalls/sys_enter_renameat2
    filter: oldname == "a" && newname == "b"
    update: [{ map: m, key: pid, count: true }]
`);
  });

  it.skipIf(!support.ok)("a string that only starts with the literal does not match it", async () => {
    const short = `/tmp/pg-sz-${process.pid}`;
    const { loadPrefix } = await build("prefix", `name: prefix
params:
  target_pid: { type: u32 }
maps:
  opens: { type: hash, key: u32, value: u64 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    filter: pid == params.target_pid && filename == "${short}"
    update: [{ map: opens, key: pid, count: true }]
`);
    using probe = await loadPrefix({ params: { targetPid: process.pid } });
    opens(`${short}y`, 3);
    opens(short, 2);
    rmSync(`${short}y`);
    rmSync(short);
    expect(probe.maps.opens.get(process.pid)).toBe(2n);
  });
});

describe("the documented specs", () => {
  it("'output: events' names the default ring buffer without declaring it", () => {
    const { probe, diagnostics } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    output: events\n    fields: [pid]\n");
    expect(diagnostics).toEqual([]);
    expect(probe!.maps.map((m) => [m.name, m.kind, m.maxEntries, m.implicit])).toEqual([["events", "ringbuf", 256 * 1024, true]]);
  });

  it("'output' naming another undeclared map is still an error", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    output: evnts\n    fields: [pid]\n");
    expect(diagnostics.map((d) => d.code)).toEqual(["unknown-map"]);
  });
});
