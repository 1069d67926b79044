/**
 * Runs a node script where the kernel features it needs exist: on the host when its kernel has
 * them, else in the Debian-kernel VM (test/vm). Tests name the placement so the summary can say
 * which kernel ran them.
 */
import { execa } from "execa";
import { placeFor, runInVm, type KernelFeature, type Placement } from "../vm/vm.js";

export function placement(file: string, ...features: KernelFeature[]): Placement {
  const p = placeFor(...features);
  if (p.where === "skip") console.warn(`[${file}] SKIPPING: ${p.reason}`);
  return p;
}

/** The script's last stdout line, parsed as JSON; throws with its stderr when it fails. */
export async function runScript(p: Placement, script: string, args: string[] = []): Promise<any> {
  const run = p.where === "vm" ? await runInVm(["node", script, ...args], { timeoutMs: 240_000 }) : await execa("node", [script, ...args], { reject: false });
  if (run.exitCode !== 0) throw new Error(`${script} exited ${run.exitCode} on ${p.kernel}:\n${String(run.stderr).slice(-4000)}`);
  return JSON.parse(String(run.stdout).trim().split("\n").at(-1)!);
}
