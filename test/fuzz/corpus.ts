/** The specs mutations start from: the bundled probes and every spec the docs show. */
import { readFileSync, readdirSync } from "node:fs";
import { parse } from "yaml";

export interface Seed {
  origin: string;
  spec: Record<string, unknown>;
}

export function loadCorpus(root = "."): Seed[] {
  const seeds: Seed[] = [];
  for (const file of readdirSync(`${root}/probes`).filter((f) => f.endsWith(".yaml")).sort()) {
    seeds.push({ origin: `probes/${file}`, spec: parse(readFileSync(`${root}/probes/${file}`, "utf8")) as Record<string, unknown> });
  }
  for (const doc of ["docs/spec.md", "README.md"]) {
    const text = readFileSync(`${root}/${doc}`, "utf8");
    let n = 0;
    for (const m of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      n++;
      try {
        const spec = parse(m[1]!) as unknown;
        // Only whole specs: the docs also show fragments (a map, one program).
        if (spec && typeof spec === "object" && "programs" in spec) seeds.push({ origin: `${doc} example ${n}`, spec: spec as Record<string, unknown> });
      } catch {
        // A fragment that is not YAML on its own.
      }
    }
  }
  return seeds;
}
