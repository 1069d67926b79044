/**
 * Whether a probe's programs drop traffic, for `check` and `run` to say so. The answer needs the
 * attach kinds (their titles), a large part of the compiler: loaded only for a probe with an
 * action that drops, so a cache hit of any other spec does not load it.
 */
import type { DroppingProgram, IrProbe } from "../compiler/build-api.js";

/** The programs that drop traffic and a sentence saying so; undefined when none does. */
export async function dropsOf(probe: IrProbe): Promise<{ list: DroppingProgram[]; text: string } | undefined> {
  if (!probe.programs.some((p) => p.actions?.some((a) => a.drops))) return undefined;
  const { describeDrops, droppingPrograms } = await import("../compiler/index.js");
  const list = droppingPrograms(probe);
  return list.length ? { list, text: describeDrops(list) } : undefined;
}
