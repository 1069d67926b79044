/** Finding a probe's binary by name, as the dynamic linker and the shell would. */
import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { locateBinary } from "../../src/elf/locate.js";

/** The libc this very process maps: what "libc" must mean. */
function mappedLibc(): string {
  const line = readFileSync("/proc/self/maps", "utf8").split("\n").find((l) => /\/libc\.so\.6$/.test(l));
  return realpathSync(line!.slice(line!.indexOf("/")));
}

describe("locateBinary", () => {
  it("finds libc by name as the one processes map, whatever spelling", () => {
    for (const name of ["libc", "libc.so.6"]) expect(locateBinary(name)).toMatchObject({ path: mappedLibc() });
  });

  it("finds a program on PATH with symlinks resolved", () => {
    const bash = execFileSync("sh", ["-c", "command -v bash"], { encoding: "utf8" }).trim();
    const located = locateBinary("bash");
    expect(located).toMatchObject({ path: realpathSync(bash), pathEnv: true });
    // what a build notes to see that the answer still holds: the directory it was found in, the file
    expect("consulted" in located && located.consulted).toEqual(expect.arrayContaining([dirname(bash), bash, realpathSync(bash)]));
  });

  it("takes a path as a path, relative to the directory given", () => {
    expect(locateBinary("bash", { pathEnv: "/nonexistent" })).toMatchObject({ error: "no program 'bash' on PATH" });
    expect(locateBinary("./bin/bash", { cwd: "/usr" })).toEqual({ path: realpathSync("/usr/bin/bash"), consulted: ["/usr/bin/bash", realpathSync("/usr/bin/bash")] });
    expect(locateBinary("/no/such/file")).toMatchObject({ error: "no file /no/such/file" });
  });

  it("says where it looked and what is near a misspelt library", () => {
    const found = locateBinary("libpthred");
    expect(found).toMatchObject({ error: "no shared library 'libpthred' in the linker's directories" });
    expect("near" in found && found.near).toContain("libpthread");
  });
});
