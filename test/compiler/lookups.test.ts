/** Map reads in expressions and keyless maps: what compiles, and errors that show the syntax. */
import { describe, expect, it } from "vitest";
import { frontEnd, located } from "../helpers/compile.js";
import { lookupsIn, programSources, type IrProgram } from "../../src/compiler/ir.js";

const maps = `maps:
  start: { type: hash, key: u32, value: u64 }
  by_user: { type: hash, key: { uid: u32, comm: "string[16]" }, value: { calls: u64, name: "string[16]" } }
  lat: { value: hist }
  total: { value: u64 }
  names: { type: hash, key: u32, value: "string[16]" }
`;
const spec = (program: string) => `name: t\n${maps}programs:\n  - attach: tracepoint/syscalls/sys_enter_openat\n${program}`;
/** A spec whose program has this filter (and counts into total). */
const filtered = (filter: string) => spec(`    filter: '${filter}'\n    update: [{ map: total, count: true }]\n`);

function errors(text: string): Array<{ at: string; hint?: string }> {
  const { diagnostics } = frontEnd(text);
  return diagnostics.map((d, i) => ({ at: located(diagnostics)[i]!, hint: d.hint }));
}

describe("map lookups", () => {
  it("types a lookup as the map's value, a presence test as a bool, and reads each map and key once", () => {
    const { probe, diagnostics } = frontEnd(spec(`    filter: "start[pid] > 10 && pid in start && by_user[uid, comm].calls != 0"
    fields: [{ name: started, from: "start[pid]" }]
    update:
      - { map: total, sum: "ktime - start[pid]" }
      - { map: start, key: pid, delete: true }
`));
    expect(diagnostics).toEqual([]);
    const program = probe!.programs[0] as IrProgram;
    expect(program.event!.fields[0]!.type).toEqual({ kind: "int", size: 8, signed: false });
    expect(lookupsIn(programSources(program)).map((l) => [l.text, l.local])).toEqual([["start[pid]", "pg_lookup0"], ["by_user[uid, comm]", "pg_lookup1"]]);
  });

  it("keyless maps: updated without a key, read with NAME[]", () => {
    const { probe, diagnostics } = frontEnd(spec(`    filter: "total[] < 100"\n    update: [{ map: lat, hist: filename_len }, { map: total, count: true }]\n`)
      .replace("filename_len", "flags"));
    expect(diagnostics).toEqual([]);
    const lat = probe!.maps.find((m) => m.name === "lat")!;
    expect([lat.kind, lat.maxEntries, lat.keyless]).toEqual(["array", 1, true]);
  });

  it.each([
    ["maps.start.value", "probes/test.yaml:10:14: filter: 'maps.start.value' names map 'start'; a map is read at a key", "write start[KEY]"],
    ["start > 0", "probes/test.yaml:10:14: filter: 'start' names map 'start'; a map is read at a key", "write start[KEY]"],
    ["total > 0", "probes/test.yaml:10:14: filter: 'total' names map 'total'; a map is read at a key", "write total[]"],
    ["strat[pid] > 0", "probes/test.yaml:10:14: filter: no map called 'strat'. Did you mean 'start'?", "declared maps: start, by_user, lat, total, names"],
    ["start[comm] > 0", "probes/test.yaml:10:20: filter: the key of 'start' is u32, and this is a string", "write start[KEY]"],
    ["start[] > 0", "probes/test.yaml:10:14: filter: 'start' is keyed by u32: give one key", "write start[KEY]"],
    ["by_user[uid].calls > 0", "probes/test.yaml:10:14: filter: 'by_user' is keyed by a struct of uid (u32), comm (string[16]): give 2 keys, one per member in this order", "write by_user[UID, COMM]"],
    ["by_user[comm, uid].calls > 0", "probes/test.yaml:10:22: filter: member 'uid' of the key of 'by_user' is u32, and this is a string", "write by_user[UID, COMM]"],
    ["by_user[uid, comm] > 0", "probes/test.yaml:10:14: filter: 'by_user' holds a struct: read one of its members", "write by_user[uid, comm].calls (members: calls, name)"],
    ["by_user[uid, comm].count > 0", "probes/test.yaml:10:33: filter: the value of 'by_user' has no member 'count'.", "members: calls, name"],
    ["lat[] > 0", "probes/test.yaml:10:14: filter: 'lat' holds a histogram, which programs only add to (hist:)", "read it in user space (probe.maps.lat.get(), or probegen run prints it); to test for a key, write KEY in lat"],
    ["lat[0] > 0", "probes/test.yaml:10:14: filter: 'lat' has no key: it holds one value", "write lat[]"],
    ["pid in total", "probes/test.yaml:10:14: filter: 'total' has no key: it always holds its one value", "read it with total[]"],
    ["events[0] > 0", "probes/test.yaml:10:14: filter: no map called 'events'.", "declared maps: start, by_user, lat, total, names"],
    ["names[pid] == 0", "probes/test.yaml:10:14: filter: the value of 'names' is string[16]: only numbers can be read from a map in an expression", "store a number in the map, or capture the value as a field and read it in user space"],
    ["start[pid].x > 0", "probes/test.yaml:10:25: filter: the value of 'start' is u64, not a struct", "write start[pid]"],
    ["start[5000000000] > 0", "probes/test.yaml:10:20: filter: 5000000000 does not fit in the key of 'start': u32 (0 to 4294967295)", "use a value in that range"],
  ])("%s", (filter, at, hint) => {
    expect(errors(filtered(filter))).toEqual([{ at, hint }]);
  });

  it("a ring buffer has nothing to read", () => {
    const text = filtered("events[0] > 0").replace("maps:\n", "maps:\n  events: { type: ringbuf }\n");
    expect(errors(text)[0]!.at).toBe("probes/test.yaml:11:14: filter: 'events' is a ring buffer: programs send it events, and it has no values to read");
  });

  it("a field reads one value, with the map's type", () => {
    expect(errors(spec(`    fields: [{ name: d, from: "start[pid] + 1" }]\n`))).toEqual([{
      at: "probes/test.yaml:10:31: a field captures one value: a name or a map lookup, not a computation",
      hint: "capture the values it is computed from, or store the result in a map (update: set:)",
    }]);
    expect(errors(spec(`    fields: [{ name: d, from: "maps.start" }]\n`))[0]!.at).toBe("probes/test.yaml:10:32: from: 'maps.start' names map 'start'; a map is read at a key");
  });

  it("keyless maps: no key in updates, and no key type without a map type", () => {
    expect(errors(spec(`    update: [{ map: total, key: pid, count: true }]\n`))).toEqual([{ at: "probes/test.yaml:10:28: map 'total' has no key: it holds one value", hint: "remove 'key:'" }]);
    expect(errors(spec(`    update: [{ map: total, count: true }]\n`).replace("total: { value: u64 }", "total: { key: u32, value: u64 }"))[0]!.at)
      .toBe("probes/test.yaml:6:3: map 'total' has a key: say its type");
    expect(errors(spec(`    update: [{ map: total, count: true }]\n`).replace("total: { value: u64 }", "total: { type: percpu_hash, value: u64 }"))[0])
      .toEqual({ at: "probes/test.yaml:6:3: map 'total' is a percpu_hash: it needs a key type", hint: "add 'key: u32' (or another type), or remove 'type: percpu_hash' for a map of one value (type: percpu_array, without max_entries, for one value per CPU)" });
  });
});
