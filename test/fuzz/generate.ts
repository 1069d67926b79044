/**
 * Specs generated from schemas/probe.schema.json: a walk of the schema that picks among its
 * alternatives, with values from the fuzzer's pools where a property names something the kernel
 * or the expression language gives meaning to.
 */
import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { hostileNames, interestingNumbers, plainNames, randomAction, randomAttach, randomExpr, valueNames } from "./pools.js";
import type { Random } from "./random.js";

type Schema = Record<string, unknown> & { $ref?: string; type?: string | string[]; properties?: Record<string, Schema> };

const domain: Record<string, (r: Random) => unknown> = {
  attach: (r) => randomAttach(r),
  filter: (r) => randomExpr(r, r.int(1, 3)),
  if: (r) => randomExpr(r, 2),
  sum: (r) => r.pick(valueNames),
  hist: (r) => r.pick(["latency", "ret", "args.count", "pid"]),
  min: (r) => r.pick(valueNames),
  max: (r) => r.pick(valueNames),
  from: (r) => r.pick(valueNames),
  name: (r) => (r.chance(0.5) ? r.pick(hostileNames) : r.pick(plainNames)),
  count: (r) => r.pick([1, 4, 20, 128, 129, 0]),
  action: (r) => randomAction(r),
};

export class SchemaGenerator {
  private readonly root: Schema;

  constructor(schemaFile = "schemas/probe.schema.json") {
    this.root = JSON.parse(readFileSync(schemaFile, "utf8")) as Schema;
  }

  /** A spec as YAML text, and a one-line summary of it. */
  spec(r: Random): { text: string; steps: string[] } {
    const spec = this.value(r, this.root, "", 0) as Record<string, unknown>;
    // Updates name maps the spec has, most of the time, so generated specs get past the resolver.
    const mapNames = Object.keys((spec.maps as object | undefined) ?? {});
    for (const p of (Array.isArray(spec.programs) ? spec.programs : []) as Array<Record<string, unknown>>) {
      for (const u of (Array.isArray(p?.update) ? p.update : []) as Array<Record<string, unknown>>) {
        if (u && mapNames.length && r.chance(0.8)) u.map = r.pick(mapNames);
      }
      // And expressions read them (MAP[KEY], KEY in MAP, MAP[]) some of the time.
      if (p && typeof p === "object" && mapNames.length && r.chance(0.4)) p.filter = randomExpr(r, r.int(1, 3), mapNames);
    }
    return { text: stringify(spec, { lineWidth: 0 }), steps: ["generated from the schema"] };
  }

  private resolve(s: Schema): Schema {
    let schema = s;
    while (schema.$ref) {
      const path = schema.$ref.replace(/^#\//, "").split("/");
      let target: unknown = this.root;
      for (const p of path) target = (target as Record<string, unknown>)[p];
      schema = { ...(target as Schema), ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$ref")) };
    }
    return schema;
  }

  private value(r: Random, s: Schema, key: string, depth: number): unknown {
    const schema = this.resolve(s);
    if (domain[key] && r.chance(0.85) && !schema.properties) return domain[key]!(r);
    if ("const" in schema) return schema.const;
    if (Array.isArray(schema.enum)) return r.pick(schema.enum);
    const choices = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
    if (choices) return this.value(r, r.pick(choices), key, depth);
    const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type;
    switch (type) {
      case "object": return this.object(r, schema, depth);
      case "array": {
        const n = r.int((schema.minItems as number | undefined) ?? 0, Math.min(3, (schema.maxItems as number | undefined) ?? 3));
        return Array.from({ length: n }, () => this.value(r, (schema.items as Schema) ?? {}, key, depth + 1));
      }
      case "integer": return r.chance(0.7) ? r.int((schema.minimum as number | undefined) ?? 0, Math.min(4096, (schema.maximum as number | undefined) ?? 4096)) : r.pick(interestingNumbers.filter(Number.isInteger));
      case "number": return r.pick(interestingNumbers);
      case "boolean": return r.chance(0.5);
      case "string": return this.string(r, schema);
      default: return r.pick(valueNames);
    }
  }

  private object(r: Random, schema: Schema, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const required = new Set((schema.required as string[] | undefined) ?? []);
    for (const [k, sub] of Object.entries(schema.properties ?? {})) {
      if (required.has(k) || (depth < 4 && r.chance(0.5))) out[k] = this.value(r, sub, k, depth + 1);
    }
    const extra = schema.additionalProperties;
    if (extra && typeof extra === "object" && depth < 4) {
      for (let i = r.int((schema.minProperties as number | undefined) ?? 0, 2); i > 0; i--) {
        out[r.chance(0.6) ? r.pick(plainNames) : r.pick(hostileNames)] = this.value(r, extra as Schema, "", depth + 1);
      }
    }
    return out;
  }

  private string(r: Random, schema: Schema): string {
    const pattern = schema.pattern as string | undefined;
    if (pattern?.includes("string\\[")) return `string[${r.pick([1, 8, 16, 64, 256, 600, 4096])}]`;
    if (pattern?.includes("KiB")) return r.pick(["4096", "64KiB", "16MiB", "4GiB", "3KiB"]);
    if (pattern?.startsWith("^[a-z]")) return r.chance(0.5) ? r.pick(hostileNames) : r.pick(plainNames);
    return r.chance(0.5) ? randomExpr(r, 2) : r.pick(valueNames);
  }
}
