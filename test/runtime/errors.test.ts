import { describe, expect, it } from "vitest";

import { BpfError, errnoName, explainErrno } from "../../src/runtime/index.js";
import { makeNativeError } from "../../src/runtime/errors.js";

describe("BpfError", () => {
  it.each([
    [13, "EACCES", /verifier/],
    [22, "EINVAL", /invalid argument/],
    [7, "E2BIG", /too big/],
    [2, "ENOENT", /no such entry/],
    [17, "EEXIST", /already in the map/],
    [12, "ENOMEM", /out of memory/],
    [1, "EPERM", /operation not permitted/],
    [524, "ENOTSUPP", /not supported/],
    [4007, "LIBBPF_ERRNO__VERIFY", /verifier/],
  ])("errno %d is %s with an explanation", (errno, code, words) => {
    expect(errnoName(errno)).toBe(code);
    expect(explainErrno(errno)).toMatch(words);
    const e = new BpfError({ operation: "load", errno, detail: "x" });
    expect(e).toMatchObject({ name: "BpfError", code, errno, operation: "load" });
    expect(e.message).toContain(`${code} (errno ${errno})`);
  });

  it("is built by the native factory with map and flags context", () => {
    const e = makeNativeError("map.update", 17, "update in map 'counts' failed", { map: "counts", flags: 1 }) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.message).toMatch(/^update in map 'counts' failed \(flags: noexist\): EEXIST \(errno 17\)/);
    expect(e.message).toMatch(/already in map 'counts'/);
  });
});
