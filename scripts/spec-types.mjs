#!/usr/bin/env node
// Writes src/compiler/spec.ts, the TypeScript shape of a validated spec, from
// schemas/probe.schema.json, so the two cannot drift (test/compiler/spec-types.test.ts checks it
// is fresh). Covers the JSON Schema the spec uses: $ref to $defs, type, const, enum, oneOf/anyOf,
// properties/required, additionalProperties, items (if/then and anyOf-of-required are rules the
// validator checks, not types).
//   node scripts/spec-types.mjs           rewrite src/compiler/spec.ts
//   node scripts/spec-types.mjs --stdout  print it instead
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const schemaPath = "schemas/probe.schema.json";
const outPath = "src/compiler/spec.ts";

const pascal = (name) => name.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase());
/** A $defs entry's type name: `map` is MapSpec. */
const typeName = (def) => `${pascal(def)}Spec`;

function doc(text, indent) {
  return text ? `${indent}/** ${text.replace(/\*\//g, "*\\/")} */\n` : "";
}

function union(parts) {
  return [...new Set(parts)].join(" | ");
}

/** The TS type of a schema node, nested objects written inline at `indent`. */
function tsOf(node, indent) {
  if (node === true) return "unknown";
  if (node.$ref) return typeName(node.$ref.replace("#/$defs/", ""));
  if ("const" in node) return JSON.stringify(node.const);
  if (node.enum) return union(node.enum.map((v) => JSON.stringify(v)));
  // Branches of a typed node (an object's anyOf: required) are rules, not types.
  const branches = node.type ? undefined : node.oneOf ?? node.anyOf;
  if (branches) return union(branches.map((b) => tsOf(b, indent)));
  switch (node.type) {
    case "string": return "string";
    case "integer": case "number": return "number";
    case "boolean": return "boolean";
    case "array": return `Array<${tsOf(node.items, indent)}>`;
    case "object": return objectOf(node, indent);
    default: throw new Error(`${schemaPath}: no TS type for ${JSON.stringify(node).slice(0, 80)}`);
  }
}

function objectOf(node, indent) {
  if (!node.properties) return `{ [name: string]: ${tsOf(node.additionalProperties ?? true, indent)} }`;
  const inner = `${indent}  `;
  const required = new Set(node.required ?? []);
  const members = Object.entries(node.properties).map(([key, value]) =>
    `${doc(value.description, inner)}${inner}${key}${required.has(key) ? "" : "?"}: ${tsOf(value, inner)};\n`);
  return `{\n${members.join("")}${indent}}`;
}

function declaration(name, node) {
  const type = tsOf(node, "");
  const text = type.startsWith("{\n") ? `export interface ${name} ${type}` : `export type ${name} = ${type};`;
  return `${doc(node.description, "")}${text}\n`;
}

export function specTypes(schema) {
  const header = [
    `// Generated from ${schemaPath} by scripts/spec-types.mjs. DO NOT EDIT: change the schema and run`,
    "// node scripts/spec-types.mjs. The shape of a spec after schema validation, before any resolution.",
    "",
  ].join("\n");
  const defs = Object.entries(schema.$defs).map(([def, node]) => declaration(typeName(def), node));
  return `${header}\n${declaration("ProbeSpec", schema)}\n${defs.join("\n")}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = specTypes(JSON.parse(readFileSync(`${root}/${schemaPath}`, "utf8")));
  if (process.argv.includes("--stdout")) process.stdout.write(text);
  else writeFileSync(`${root}/${outPath}`, text);
}
