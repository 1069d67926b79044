/** opensnoop end to end: the generated loader, in the real kernel, sees this process's own open. */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { loadOpensnoop, type OpenEvent } from "../../generated/opensnoop.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/opensnoop.test.ts");

describe.skipIf(!support.ok)("opensnoop on the running kernel", () => {
  const path = join(tmpdir(), `probegen-opensnoop-${process.pid}-${Date.now()}`);
  writeFileSync(path, "x");
  afterAll(() => rmSync(path, { force: true }));

  it("receives exactly the open this test makes, with its pid, uid, comm and flags", async () => {
    using probe = await loadOpensnoop();
    const seen: OpenEvent[] = [];
    const started = Date.now();
    const found = new Promise<void>((resolve) => {
      probe.events.on((ev) => {
        if (ev.filename === path) {
          seen.push(ev);
          resolve();
        }
      });
    });
    closeSync(openSync(path, "r"));
    await found;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({
      pid: process.pid,
      uid: process.getuid!(),
      comm: readFileSync("/proc/thread-self/comm", "utf8").trim(), // the thread that opened
      filename: path,
      flags: "O_RDONLY|O_CLOEXEC", // 0o2000000, as libuv opens files (decode: open_flags)
    });
  });

  it("for await yields typed events and ends when the probe is closed", async () => {
    const probe = await loadOpensnoop();
    setTimeout(() => closeSync(openSync(path, "r")), 20);
    let mine: OpenEvent | undefined;
    for await (const ev of probe.events) {
      if (ev.filename === path && ev.pid === process.pid) {
        mine = ev;
        probe.close();
      }
    }
    expect(mine?.filename).toBe(path);
  });

  it("lets the process exit when a handler closes the probe (the reader stops delivering, nothing stays on the loop)", async () => {
    // A child process: only its exit shows whether the loop was left with a live handle.
    const loader = pathToFileURL(resolve("dist/generated/opensnoop.js")).href;
    const script = `
      import { closeSync, openSync } from "node:fs";
      import { loadOpensnoop } from ${JSON.stringify(loader)};
      const probe = await loadOpensnoop();
      probe.events.on(() => probe.close());
      closeSync(openSync(${JSON.stringify(path)}, "r"));`;
    const child = await execa("node", ["--input-type=module", "-e", script], { reject: false, timeout: 10_000 });
    expect(child.timedOut, "still running 10 s after the probe closed").toBe(false);
    expect(child.exitCode, child.stderr).toBe(0);
  });
});
