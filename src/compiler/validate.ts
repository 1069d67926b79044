/**
 * Validate: the spec against schemas/probe.schema.json with ajv. Each schema error becomes a
 * diagnostic at the offending YAML node, worded for a person and with a hint.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { DiagnosticError, error, type Diagnostic } from "./diagnostics.js";
import type { SpecPath, SpecSource } from "./parse.js";
import { packageRoot } from "./package-info.js";
import { integerText } from "./constants.js";
import { didYouMean } from "./suggest.js";
import type { ProbeSpec } from "./spec.js";

// ProbeSpec is generated from this schema (scripts/spec-types.mjs), so a spec it accepts has that type.
let compiled: ValidateFunction<ProbeSpec> | undefined;

function validator(): ValidateFunction<ProbeSpec> {
  if (!compiled) {
    const text = readFileSync(schemaFile(), "utf8");
    compiled = precompiled(text) ?? compileSchema(text);
  }
  return compiled;
}

/** Ajv itself (~80 modules) is loaded only here, when no precompiled validator fits. */
function compileSchema(text: string): ValidateFunction<ProbeSpec> {
  const { Ajv2020 } = createRequire(import.meta.url)("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  return new Ajv2020({ allErrors: true, verbose: true, strict: true }).compile<ProbeSpec>(JSON.parse(text));
}

/**
 * The validator `npm run build` compiled ahead of time (scripts/schema-validator.mjs), when it
 * was compiled from this very schema: no ajv compile at run time.
 */
function precompiled(schemaText: string): ValidateFunction<ProbeSpec> | undefined {
  const file = fileURLToPath(new URL("./schema-validator.cjs", import.meta.url));
  if (!existsSync(file)) return undefined;
  const mod = createRequire(import.meta.url)(file) as { default: ValidateFunction<ProbeSpec>; schemaHash: string };
  return mod.schemaHash === createHash("sha256").update(schemaText).digest("hex") ? mod.default : undefined;
}

function schemaFile(): string {
  return `${packageRoot}/schemas/probe.schema.json`;
}

export function validateSpec(source: SpecSource): ProbeSpec {
  const validate = validator();
  if (validate(source.value)) return source.value;
  throw new DiagnosticError(describeErrors(source, validate.errors ?? []));
}

function describeErrors(source: SpecSource, errors: ErrorObject[]): Diagnostic[] {
  // oneOf produces an error per failed branch; keep the most specific error per place.
  const byPath = new Map<string, ErrorObject>();
  for (const e of errors) {
    if (e.keyword === "oneOf" || e.keyword === "if") continue;
    const key = e.keyword === "additionalProperties" ? `${e.instancePath}/${e.params.additionalProperty}` : e.instancePath;
    const seen = byPath.get(key);
    if (!seen || rank(e) > rank(seen)) byPath.set(key, e);
  }
  if (byPath.size === 0 && errors.length > 0) byPath.set(errors[0]!.instancePath, errors[0]!);
  // An error at a parent path is noise when a child has a precise one.
  const paths = [...byPath.keys()];
  const kept = [...byPath.entries()].filter(
    ([path, e]) => e.keyword === "additionalProperties" || !paths.some((p) => p !== path && p.startsWith(path + "/")),
  );
  // A value that fails an enum and a pattern (type: u64 or type: "u8[16]") hears about both.
  const patterns = new Map(errors.filter((e) => e.keyword === "pattern").map((e) => [e.instancePath, e]));
  return kept.map(([path, e]) => describe(source, e, e.keyword === "enum" ? patterns.get(path) : undefined));
}

/** Prefer errors that say what is wrong with the value itself over type mismatches of other branches. */
function rank(e: ErrorObject): number {
  switch (e.keyword) {
    case "additionalProperties": case "required": case "enum": return 3;
    case "pattern": case "minimum": case "maximum": case "minItems": case "minProperties": return 2;
    case "type": return typeof e.data === "string" || typeof e.data === "object" ? 0 : 1;
    default: return 1;
  }
}

function pathOf(pointer: string): SpecPath {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(source: SpecSource, e: ErrorObject, alternative?: ErrorObject): Diagnostic {
  const path = pathOf(e.instancePath);
  const where = path.length ? `'${path.join(".")}'` : "the spec";
  const description = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      return error("unknown-key", `unknown key '${key}' in ${where}.${didYouMean(key, allowed)}`,
        source.spanOf([...path, key], "key"), `allowed keys here: ${allowed.join(", ")}`);
    }
    case "required":
      return error("missing-key", `${where} needs '${e.params.missingProperty}'`, source.spanOf(path, "key"),
        `add a '${e.params.missingProperty}:' entry`);
    case "enum": {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const other = (alternative?.parentSchema as { description?: string } | undefined)?.description;
      return error("invalid-value", `${where} is '${shown(e.data)}', which is not allowed.${didYouMean(String(e.data), allowed)}`,
        source.spanOf(path), `use one of: ${allowed.join(", ")}${other ? `; or ${other}` : ""}`);
    }
    case "pattern":
      return error("invalid-value", `${where} is '${shown(e.data)}', which is not valid here`, source.spanOf(path),
        description ? `expected ${description}` : `it must match ${e.params.pattern}`);
    case "type": {
      // YAML reads a number too long for a double as Infinity: name it by the digits written.
      const huge = typeof e.data === "number" && !Number.isFinite(e.data) ? source.integerAt(path) : undefined;
      if (huge !== undefined) {
        return error("invalid-number", `${where} is ${integerText(huge)}, which no 64-bit integer holds`, source.spanOf(path),
          "use a number from -9223372036854775808 to 18446744073709551615, within the range of the type it goes into");
      }
    }
      return error("invalid-type", `${where} must be ${article(String(e.params.type))}, not ${kindOf(e.data)}`,
        source.spanOf(path), description ? `expected ${description}` : undefined);
    default:
      return error("invalid-value", `${where} ${e.message ?? "is invalid"}`, source.spanOf(path), description);
  }
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${article(typeof v)} (${JSON.stringify(v)})`;
}

/** A value as a message quotes it: on one line (control characters escaped), and not too long. */
function shown(value: unknown): string {
  const text = JSON.stringify(String(value)).slice(1, -1).replace(/\\"/g, '"');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
