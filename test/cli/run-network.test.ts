/**
 * `probegen run` with network programs: --interface and --cgroup say where they attach, the run
 * reports where and how they did (a tcx link or a clsact filter), a missing place is a usage
 * error naming the flag; `probegen init` writes starters for them; `probegen list cgroups` shows
 * the directories --cgroup takes.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cgroup2Mount } from "../../src/runtime/cgroup.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { probegen } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "cli/run-network.test.ts");
const mount = cgroup2Mount();

describe.skipIf(!support.ok)("probegen run with network programs", () => {
  it("--interface: the tc programs attach to it, and the run says how", async () => {
    const r = await probegen(["run", "-d", "300ms", "--interface", "lo", "--allow-drop", "test/fixtures/e2e/tc-count.yaml"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toContain("  tc_ingress: tc/ingress on lo, as a tcx link\n  tc_egress: tc/egress on lo, as a tcx link\n");
  });

  it("without --interface: a usage error that names the flag", async () => {
    const r = await probegen(["run", "-d", "300ms", "--allow-drop", "test/fixtures/e2e/tc-count.yaml"]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain("program 'tc_ingress' attaches to a network interface: name it with { interface: \"eth0\" } (probegen run --interface NAME; probegen list interfaces)");
  });

  it.skipIf(!mount)("--cgroup: relative to the cgroup2 mount; a missing one is a usage error", async () => {
    const r = await probegen(["run", "-d", "300ms", "--cgroup", ".", "--allow-drop", "test/fixtures/e2e/cgroup-count.yaml"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toContain(`  cgroup_skb_egress: cgroup_skb/egress on ${mount}, as a link\n`);
    const missing = await probegen(["run", "-d", "300ms", "--cgroup", "probegen-no-such", "--allow-drop", "test/fixtures/e2e/cgroup-count.yaml"]);
    expect(missing.exitCode).toBe(2);
    expect(String(missing.stderr)).toContain("cgroup 'probegen-no-such' does not exist");
  });
});

describe("probegen check of network programs that drop", () => {
  it("names the program, its line and its attach point", async () => {
    const r = await probegen(["check", "test/fixtures/e2e/tc-count.yaml", "test/fixtures/e2e/cgroup-count.yaml"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = String(r.stdout) + String(r.stderr);
    expect(out).toContain("drops traffic: program tc_ingress (drop at line 12) on tc/ingress");
    expect(out).toContain("drops traffic: program cgroup_skb_egress (drop at line 12) on cgroup_skb/egress");
  });
});

describe("probegen init for network programs", () => {
  it("writes a tc or cgroup_skb starter that checks, and says which flag runs it", async () => {
    for (const [attach, flag] of [["tc/egress", "--interface NAME"], ["cgroup_skb/ingress", "--cgroup PATH"]] as const) {
      const out = join(mkdtempSync(join(tmpdir(), "probegen-init-")), "starter.yaml");
      const r = await probegen(["init", "starter", "--attach", attach, "-o", out]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stderr)).toContain(`try it:   probegen run ${flag} ${out}`);
      expect(readFileSync(out, "utf8")).toContain(`  - attach: ${attach}\n`);
    }
  });
});

describe.skipIf(!mount)("probegen list cgroups", () => {
  it("lists the cgroup v2 directories relative to the mount, the root as '.'", async () => {
    const r = await probegen(["list", "cgroups", "--json"]);
    expect(r.exitCode).toBe(0);
    const { mount: at, cgroups } = JSON.parse(String(r.stdout));
    expect(at).toBe(mount);
    expect(cgroups[0]).toBe(".");
  });
});
