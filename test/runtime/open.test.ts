// Opening and configuring an object touches no kernel state, so these run
// unprivileged too.
import { describe, expect, it } from "vitest";

import { BpfError, loadObject } from "../../src/runtime/index.js";
import { getppidDefinition } from "./helpers.js";

describe("opening and configuring objects", () => {
  it("rejects bytes that are not a BPF ELF object", async () => {
    const def = { ...getppidDefinition(), object: new Uint8Array([1, 2, 3, 4]), source: "probes/bad.yaml" };
    const err = (await loadObject(def).catch((e: unknown) => e)) as BpfError;
    expect(err).toBeInstanceOf(BpfError);
    expect(err.operation).toBe("open");
    expect(err.message).toMatch(/cannot open BPF object 'getppid' \(probes\/bad\.yaml\)/);
    expect(err.libbpfLog).toMatch(/libbpf: /);
  });

  it("names both sizes when .rodata does not match the object", async () => {
    const def = { ...getppidDefinition(), rodata: new Uint8Array(4) };
    await expect(loadObject(def)).rejects.toThrow(/\.rodata of 'getppid' is 8 bytes but 4 bytes were given/);
  });

  it("reports an unknown map in mapSizes as ENOENT", async () => {
    await expect(loadObject(getppidDefinition(), { mapSizes: { nope: 8 } })).rejects.toMatchObject({
      code: "ENOENT",
      operation: "map.resize",
    });
  });

  it("validates options before touching libbpf", async () => {
    await expect(loadObject(getppidDefinition(), { drainIntervalMs: 0 })).rejects.toThrow(RangeError);
    await expect(loadObject(getppidDefinition(), { drainIntervalMs: 1.5 })).rejects.toThrow(RangeError);
    await expect(loadObject(getppidDefinition(), { mapSizes: { counts: -1 } })).rejects.toThrow(RangeError);
    await expect(loadObject(getppidDefinition(), { stagingBytes: 3 << 20 })).rejects.toThrow(/stagingBytes must be a power of two/);
    await expect(loadObject(getppidDefinition(), { stagingBytes: 4096 })).rejects.toThrow(RangeError);
  });
});
