/**
 * `probegen run --folded FILE --flamegraph FILE`: the spec's maps counted by stacks, as the
 * folded-stack text flamegraph.pl, inferno and speedscope read, and as an interactive SVG.
 */
import { writeFile } from "node:fs/promises";
import type { IrMap, IrMapType, IrProbe } from "../compiler/index.js";
import { flamegraphSvg, foldedStacks, stackSamples, type StackNamer, type StackSample } from "../runtime/index.js";
import { usageError } from "./errors.js";
import type { Snapshot } from "./map-report.js";

export interface StackFiles {
  folded?: string;
  flamegraph?: string;
}

function holdsStack(t: IrMapType | undefined): boolean {
  if (t?.kind === "scalar") return t.scalar.kind === "array" && t.scalar.stack !== undefined;
  return t?.kind === "struct" && t.struct.members.some((m) => m.type.kind === "array" && m.type.stack !== undefined);
}

/** The maps a flame graph shows: keyed by stacks (or structs holding them), their values counts. */
export function stackMaps(probe: IrProbe): IrMap[] {
  return probe.maps.filter((m) => !m.internal && holdsStack(m.key) && m.value?.kind === "scalar" && m.value.scalar.kind === "int");
}

/** Whether the probe captures stacks anywhere (event fields, map keys or values): run then names their frames. */
export function usesStacks(probe: IrProbe): boolean {
  const isStack = (t: { kind: string; stack?: string }) => t.kind === "array" && t.stack !== undefined;
  return probe.events.some((e) => e.fields.some((f) => isStack(f.type))) || probe.maps.some((m) => holdsStack(m.key) || holdsStack(m.value));
}

/**
 * Checks --folded / --flamegraph before anything loads: the spec must have a map to draw, and
 * each file must be writable (it is created now, empty), so a long profile never ends in a
 * file it cannot write.
 */
export async function prepareStackFiles(probe: IrProbe, files: StackFiles): Promise<void> {
  const flag = files.flamegraph !== undefined ? "--flamegraph" : files.folded !== undefined ? "--folded" : undefined;
  if (flag === undefined) return;
  if (stackMaps(probe).length === 0) {
    throw usageError(`${flag} draws a map counted by stacks, and ${probe.source} has none`,
      "count by stack: key: { comm: \"string[16]\", ustack: ustack, kstack: kstack } with count: true (see probes/profile.yaml)");
  }
  for (const [option, path] of [["--folded", files.folded], ["--flamegraph", files.flamegraph]] as const) {
    if (path === undefined) continue;
    try {
      await writeFile(path, "");
    } catch (e) {
      throw usageError(`${option} ${path}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "give a path in a directory you can write");
    }
  }
}

/**
 * Writes the files from the maps' last read; returns what to tell the user. The stacks are named
 * now, so user frames need their processes alive (those gone show as [unknown]).
 */
export async function writeStackFiles(probe: IrProbe, snapshot: Snapshot, files: StackFiles, namer: StackNamer): Promise<string[]> {
  if (files.folded === undefined && files.flamegraph === undefined) return [];
  const maps = new Set(stackMaps(probe).map((m) => m.name));
  const drawn = snapshot.maps.filter((m) => maps.has(m.name));
  const samples: StackSample[] = stackSamples(drawn.flatMap((m) => m.entries), namer);
  const total = samples.reduce((n, s) => n + s.count, 0);
  const what = `${total} sample${total === 1 ? "" : "s"}, ${samples.length} stack${samples.length === 1 ? "" : "s"} of ${drawn.map((m) => `@${m.name}`).join(", ")}`;
  const told: string[] = [];
  if (files.folded !== undefined) {
    await writeFile(files.folded, foldedStacks(samples));
    told.push(`Wrote ${files.folded}: folded stacks (${what})`);
  }
  if (files.flamegraph !== undefined) {
    await writeFile(files.flamegraph, flamegraphSvg(samples, { title: `${probe.name}: ${drawn.map((m) => m.name).join(", ")}` }));
    told.push(`Wrote ${files.flamegraph}: flame graph (${what})`);
  }
  return told;
}
