/** Stack samples merged into a tree, and the folded-stack text flamegraph.pl, inferno and speedscope read. */

export interface StackSample {
  /** Function names, root (outermost caller) first. */
  frames: string[];
  /** How many times the stack was seen (a positive number; others are skipped). */
  count: number;
}

/** One frame of the merged tree: `value` counts every sample through it. */
export interface StackNode {
  name: string;
  value: number;
  /** This frame was the leaf of `self` samples. */
  self: number;
  children: Map<string, StackNode>;
}

/** The name a sample without frames is counted under (so totals stay right). */
export const EMPTY_STACK = "[no frames]";

/** Merges samples into a tree under a root named `rootName`. */
export function stackTree(samples: Iterable<StackSample>, rootName = "all"): StackNode {
  const root: StackNode = { name: rootName, value: 0, self: 0, children: new Map() };
  for (const { frames, count } of samples) {
    if (!(count > 0) || !Number.isFinite(count)) continue;
    let node = root;
    node.value += count;
    for (const name of frames.length > 0 ? frames : [EMPTY_STACK]) {
      let child = node.children.get(name);
      if (!child) node.children.set(name, (child = { name, value: 0, self: 0, children: new Map() }));
      child.value += count;
      node = child;
    }
    node.self += count;
  }
  return root;
}

/**
 * "root;child;leaf 42\n", one line per distinct stack, sorted (as flamegraph.pl sorts its input).
 * A ';' or a line break inside a name would split it: they become '_'.
 */
export function foldedStacks(samples: Iterable<StackSample>): string {
  const counts = new Map<string, number>();
  for (const { frames, count } of samples) {
    if (!(count > 0) || !Number.isFinite(count)) continue;
    const stack = (frames.length > 0 ? frames : [EMPTY_STACK]).map(foldedName).join(";");
    counts.set(stack, (counts.get(stack) ?? 0) + count);
  }
  return [...counts.keys()].sort(compareStrings).map((stack) => `${stack} ${counts.get(stack)}\n`).join("");
}

export function foldedName(name: string): string {
  return name.replace(/[;\r\n]/g, "_");
}

/** Code-unit order: the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
