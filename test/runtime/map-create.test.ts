// A map the kernel will not create is named in the load error, with the size that was asked for.
import { describe, expect, it } from "vitest";

import { BpfError, loadObject } from "../../src/runtime/index.js";
import { bpfSupport, getppidDefinition, skipNote } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "map-create.test.ts");

describe.skipIf(!support.ok)("map creation refused by the kernel", () => {
  it("names the map and its size, and says how to make it smaller", async () => {
    // 2^31 buckets: more than a hash table's bucket array may hold, so the kernel refuses it
    // (E2BIG) before allocating anything.
    const err = (await loadObject(getppidDefinition(), { mapSizes: { counts: 2 ** 31 }, attach: false }).catch((e: unknown) => e)) as BpfError;
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ map: "counts", operation: "map.create", code: "E2BIG" });
    expect(err.message).toContain("the kernel would not create map 'counts', a hash map of 2147483648 entries of 4 + 8 bytes (24576.0 MiB");
    expect(err.message).toContain("make it smaller");
  });
});
