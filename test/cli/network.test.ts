/**
 * The CLI's network side: `check` says which programs drop traffic, `run` refuses to attach
 * them without --allow-drop and needs an interface, `init --attach xdp` writes a starter that
 * checks, and `list interfaces` shows this namespace's interfaces.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { networkInterfaces } from "../../src/runtime/interfaces.js";
import { probegen } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "probegen-network-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const dropper = join(scratch, "dropper.yaml");
writeFileSync(dropper, [
  "name: dropper",
  "programs:",
  "  - attach: xdp",
  "    filter: udp",
  "    action:",
  "      - drop: \"udp.dport == 9\"",
  "      - pass",
  "",
].join("\n"));

describe("network programs on the command line", () => {
  it("check says a spec drops traffic, with its program and line, on its line and in --json", async () => {
    const r = await probegen(["check", dropper]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("dropper.yaml: drops traffic: program xdp_prog (drop at line 6) on xdp");
    const json = await probegen(["check", "--json", dropper]);
    expect(JSON.parse(json.stdout)[0].drops).toEqual([{ program: "xdp_prog", attach: "xdp", verdicts: [{ verdict: "drop", line: 6, conditional: true }] }]);
  });

  it("run refuses a dropping spec without --allow-drop (exit 2, the reason), and an xdp spec without an interface", async () => {
    const refused = await probegen(["run", "--interface", "lo", "-d", "1s", dropper]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("drops traffic: program xdp_prog (drop at line 6) on xdp");
    expect(refused.stderr).toContain("--allow-drop");
    const noInterface = await probegen(["run", "--allow-drop", "-d", "1s", dropper]);
    expect(noInterface.exitCode).toBe(2);
    expect(noInterface.stderr).toContain("attaches to a network interface");
    const unknown = await probegen(["run", "--allow-drop", "--interface", "pgnosuch0", "-d", "1s", dropper]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(`there is no network interface 'pgnosuch0' (interfaces: ${networkInterfaces().map((i) => i.name).join(", ")}`);
  }, 60_000);

  it("init --attach xdp writes a starter that checks, counting by IP protocol and passing every packet", async () => {
    const out = join(scratch, "pkts.yaml");
    const r = await probegen(["init", "pkts", "--attach", "xdp", "-o", out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`probegen run --interface NAME ${out}`);
    const text = readFileSync(out, "utf8");
    expect(text).toContain("  - attach: xdp\n");
    expect(text).toContain("key: ip.proto | ip6.next");
    const check = await probegen(["check", out]);
    expect(check.stderr).not.toContain("drops traffic");
  });

  it("list interfaces shows this namespace's interfaces with their index", async () => {
    const r = await probegen(["list", "interfaces", "--json"]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(networkInterfaces());
    const lo = await probegen(["list", "interfaces", "l?"]);
    expect(lo.stdout).toMatch(/^\s+INTERFACE\s+INDEX\s+STATE\n\s+lo\s+1\s+\w+$/);
  });
});
