/**
 * Emit TS: the typed loader for one probe, built with ts-morph from the IR and the layouts.
 * The output should read like what a careful person would write by hand.
 */
import type { CodeBlockWriter, Project as ProjectType, SourceFile, StatementStructures, WriterFunction } from "ts-morph";
import type { IrEvent, IrMap, IrMapType, IrProbe } from "./ir.js";
import type { StructLayout } from "./layout.js";
import { pathInComment, tsDocText } from "./escape.js";
import { version } from "./package-info.js";
import type { ScalarOrString } from "./types.js";

export interface EmitTsOptions {
  /** Module the loader imports the runtime from. */
  runtimeImport: string;
  /** The compiled object, embedded so the loader works wherever the TS is compiled to. */
  object: Uint8Array;
}

type TsMorph = typeof import("ts-morph");
let tsMorph: TsMorph | undefined;
let project: ProjectType | undefined;

/** ts-morph costs ~0.6 s to import: load it only when a loader is emitted. */
async function morph(): Promise<{ m: TsMorph; project: ProjectType }> {
  tsMorph ??= await import("ts-morph");
  project ??= new tsMorph.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  return { m: tsMorph, project };
}

export async function emitTs(probe: IrProbe, options: EmitTsOptions): Promise<string> {
  const { m, project } = await morph();
  const statements: Array<string | WriterFunction | StatementStructures> = [];
  const Kind = m.StructureKind;
  const ring = probe.maps.filter((x) => x.kind === "ringbuf");
  const typedMaps = probe.maps.filter((x) => x.kind !== "ringbuf" && !x.internal);
  const defaultRing = ring.find((x) => x.name === "events");
  const mapScalars = typedMaps.flatMap((x) => mapTypes(x));
  const usesStrings = [...probe.events.flatMap((e) => e.fields.map((f) => f.type)), ...mapScalars].some((t) => t.kind === "string");
  const perCpu = typedMaps.some(isPerCpu);
  const histograms = typedMaps.some((x) => x.value?.histogram);

  const runtimeValues = [
    "loadObject",
    ...(typedMaps.length ? ["TypedMap"] : []),
    ...(usesStrings ? ["readCString"] : []),
    ...(mapScalars.some((t) => t.kind === "string") ? ["writeCString"] : []),
    ...(mapScalars.some((t) => t.kind === "int") ? ["writeInt"] : []),
    ...(mapScalars.some((t) => t.kind === "bool") ? ["writeBool"] : []),
    ...(typedMaps.some((x) => x.key?.struct || x.value?.struct) ? ["beginStruct"] : []),
    ...(histograms ? ["histogramCodec"] : []),
    ...(perCpu ? ["perCpuCodec"] : []),
    ...(probe.params.length ? ["checkParam", "checkParamNames"] : []),
    ...(ring.length ? ["probeStats"] : []),
  ];
  const runtimeTypes = [
    ...(typedMaps.length ? ["Codec"] : []),
    ...(ring.length ? ["EventStream", "ProbeStats"] : []),
    ...(histograms ? ["Histogram"] : []),
    ...(perCpu ? ["PerCpu"] : []),
    "LoadedObject", "LoadOptions", "ObjectDefinition",
  ];
  statements.push({
    kind: Kind.ImportDeclaration,
    moduleSpecifier: options.runtimeImport,
    namedImports: [...runtimeValues, ...runtimeTypes.map((t) => `type ${t}`)],
  });

  // Event interfaces, and one union per ring buffer.
  for (const event of probe.events) {
    statements.push({
      kind: Kind.Interface,
      name: event.tsName,
      isExported: true,
      docs: docs(event.description ?? `Event '${event.name}'.`),
      properties: [
        ...(event.tag !== undefined ? [{ name: "type", type: JSON.stringify(event.name), isReadonly: true, docs: docs("Which event this is.") }] : []),
        ...event.fields.map((f) => ({ name: f.tsName, type: f.asNumber ? "number" : tsType(f.type), docs: docs(f.description) })),
      ],
    });
  }
  for (const r of ring) {
    statements.push({
      kind: Kind.TypeAlias,
      name: ringEventType(probe, r),
      isExported: true,
      docs: docs(`Every event of the '${r.name}' ring buffer.`),
      type: r.events.length ? r.events.map((e) => e.tsName).join(" | ") : "never",
    });
  }

  // Map key/value struct interfaces.
  for (const map of typedMaps) {
    for (const t of [map.key, map.value]) {
      if (!t?.struct) continue;
      statements.push({
        kind: Kind.Interface,
        name: t.struct.tsName,
        isExported: true,
        docs: docs(`${t === map.key ? "Key" : "Value"} of map '${map.name}'.`),
        properties: t.struct.members.map((mm) => ({ name: mm.tsName, type: tsType(mm.type) })),
      });
    }
  }

  const pascal = probe.ts.probe.replace(/Probe$/, "");
  const publicParams = probe.params;
  if (publicParams.length) {
    statements.push({
      kind: Kind.Interface,
      name: `${pascal}Params`,
      isExported: true,
      docs: docs(`Runtime parameters of ${probe.name}, set at load; each has a default.`),
      properties: publicParams.map((p) => ({
        name: p.tsName,
        hasQuestionToken: true,
        type: p.type.kind === "bool" ? "boolean" : p.type.size === 8 ? "bigint | number" : "number",
        docs: docs(`${p.description ? `${p.description} ` : ""}(${p.type.kind === "bool" ? "bool" : `${p.type.signed ? "i" : "u"}${p.type.size * 8}`}, default ${p.type.kind === "bool" ? String(p.default !== 0n) : String(p.default)})`),
      })),
    });
  }
  statements.push({
    kind: Kind.Interface,
    name: `${pascal}MapSizes`,
    isExported: true,
    docs: docs("Map sizes that replace the spec's at load."),
    properties: probe.maps.filter((x) => !x.internal).map((x) => ({
      name: x.tsName,
      hasQuestionToken: true,
      type: x.kind === "ringbuf" ? "{ size?: number }" : "{ maxEntries: number }",
      docs: docs(x.kind === "ringbuf"
        ? `Ring buffer size in bytes, a power of two (default ${x.maxEntries}); it must hold what the programs write in drainIntervalMs.`
        : `Largest number of entries (default ${x.maxEntries}).`),
    })),
  });
  statements.push({
    kind: Kind.Interface,
    name: `${pascal}LoadOptions`,
    isExported: true,
    extends: ["LoadOptions"],
    docs: docs(`How to load ${probe.name}: ${publicParams.length ? "parameters, " : ""}map sizes, and the runtime's options.`),
    properties: [
      ...(publicParams.length ? [{ name: "params", hasQuestionToken: true, type: `${pascal}Params`, docs: docs("Values of the runtime parameters.") }] : []),
      { name: "maps", hasQuestionToken: true, type: `${pascal}MapSizes`, docs: docs("Map sizes instead of the spec's.") },
    ],
  });
  statements.push({
    kind: Kind.Interface,
    name: probe.ts.maps,
    isExported: true,
    docs: docs(`The maps of ${probe.name}, typed.`),
    properties: typedMaps.map((x) => ({
      name: x.tsName,
      isReadonly: true,
      type: `TypedMap<${mapTsType(x.key!)}, ${mapValueTsType(x)}>`,
      docs: docs(x.description ?? `Map '${x.name}' (${x.kind}, at most ${x.maxEntries} entries).`),
    })),
  });

  statements.push({
    kind: Kind.Interface,
    name: probe.ts.probe,
    isExported: true,
    extends: ["Disposable"],
    docs: docs(`${probe.name}, loaded and attached.${probe.description ? ` ${probe.description}` : ""}`),
    properties: [
      ...(defaultRing ? [{ name: "events", isReadonly: true, type: `EventStream<${ringEventType(probe, defaultRing)}>`, docs: docs("Events from the 'events' ring buffer: `for await (const ev of probe.events)`, or `probe.events.on(fn)`.") }] : []),
      ...(ring.some((r) => r !== defaultRing)
        ? [{ name: "streams", isReadonly: true, type: `{ ${ring.filter((r) => r !== defaultRing).map((r) => `readonly ${r.tsName}: EventStream<${ringEventType(probe, r)}>`).join("; ")} }`, docs: docs("Events from the other ring buffers.") }]
        : []),
      { name: "maps", isReadonly: true, type: probe.ts.maps, docs: docs("Typed access to the probe's maps.") },
      { name: "object", isReadonly: true, type: "LoadedObject", docs: docs("The loaded object: raw maps and program statistics.") },
    ],
    methods: [
      ...(ring.length ? [{ name: "stats", returnType: "ProbeStats", docs: docs("Ring buffer drops (reservations the kernel refused because a ring was full) and per-program statistics.") }] : []),
      { name: "close", returnType: "void", docs: docs("Detaches every program and frees the maps. Idempotent.") },
    ],
  });

  statements.push({
    kind: Kind.Function,
    name: probe.ts.loader,
    isExported: true,
    isAsync: true,
    docs: docs(`Loads ${probe.name} (${pathInComment(probe.source, "ts")}) into the kernel and attaches its programs.`),
    parameters: [{ name: "options", type: `${pascal}LoadOptions`, initializer: "{}" }],
    returnType: `Promise<${probe.ts.probe}>`,
    statements: (w) => loaderBody(w, probe, ring, defaultRing, typedMaps),
  });

  for (const r of ring) statements.push((w) => recordDecoder(w, probe, r));
  for (const map of typedMaps) statements.push((w) => mapCodecs(w, map));
  if (probe.params.length) statements.push((w) => paramsEncoder(w, probe));

  statements.push((w) => definition(w, probe));
  statements.push((w) => embeddedObject(w, options.object));

  const file: SourceFile = project.createSourceFile(`/${probe.name}.ts`, { statements }, { overwrite: true });
  const header = [
    `// Code generated by probegen ${version} from ${pathInComment(probe.source, "ts")}. DO NOT EDIT.`,
    `// Edit the spec and run: probegen build ${pathInComment(probe.source, "ts")}`,
    "",
  ].join("\n");
  const text = header + file.getFullText();
  project.removeSourceFile(file);
  return text;
}

function docs(text: string | undefined) {
  return text ? [tsDocText(text)] : [];
}

function tsType(t: ScalarOrString): string {
  switch (t.kind) {
    case "int": return t.size === 8 ? "bigint" : "number";
    case "bool": return "boolean";
    case "string": return "string";
  }
}

function mapTypes(m: IrMap): ScalarOrString[] {
  return [m.key, m.value].flatMap((t) => (!t ? [] : t.scalar ? [t.scalar] : t.struct ? t.struct.members.map((x) => x.type) : []));
}

function mapTsType(t: IrMapType): string {
  return t.struct ? t.struct.tsName : tsType(t.scalar!);
}

function ringEventType(probe: IrProbe, r: IrMap): string {
  return r.name === "events" ? probe.ts.event : `${probe.ts.event.replace(/Event$/, "")}${r.tsName.charAt(0).toUpperCase()}${r.tsName.slice(1)}Event`;
}

function decoderName(probe: IrProbe, r: IrMap): string {
  return `decode${ringEventType(probe, r)}`;
}

function loaderBody(w: CodeBlockWriter, probe: IrProbe, ring: IrMap[], defaultRing: IrMap | undefined, typedMaps: IrMap[]): void {
  const hasPublic = probe.params.length > 0;
  w.writeLine(`const { ${hasPublic ? "params, " : ""}maps: sizes, ...runtime } = options;`);
  w.writeLine("const mapSizes: Record<string, number> = {};");
  for (const x of probe.maps.filter((x) => !x.internal)) {
    const field = x.kind === "ringbuf" ? "size" : "maxEntries";
    w.writeLine(`if (sizes?.${x.tsName}?.${field} !== undefined) mapSizes[${JSON.stringify(x.name)}] = sizes.${x.tsName}.${field};`);
  }
  const rodata = probe.params.length ? `, rodata: encodeParams(params)` : "";
  w.writeLine(`const object = await loadObject({ ...definition${rodata} }, { ...runtime, mapSizes });`);
  w.write("try").block(() => {
    w.write(`const maps: ${probe.ts.maps} = `).inlineBlock(() => {
      for (const x of typedMaps) w.writeLine(`${x.tsName}: new TypedMap(object.map(${JSON.stringify(x.name)}), ${codecName(x, "key")}, ${codecName(x, "value")}),`);
    }).write(";").newLine();
    w.write("return ").inlineBlock(() => {
      if (defaultRing) w.writeLine(`events: object.ringBuffer(${JSON.stringify(defaultRing.name)}, ${decoderName(probe, defaultRing)}),`);
      const others = ring.filter((r) => r !== defaultRing);
      if (others.length) {
        w.write("streams: ").inlineBlock(() => {
          for (const r of others) w.writeLine(`${r.tsName}: object.ringBuffer(${JSON.stringify(r.name)}, ${decoderName(probe, r)}),`);
        }).write(",").newLine();
      }
      w.writeLine("maps,");
      w.writeLine("object,");
      if (ring.length) w.writeLine("stats: () => probeStats(object),");
      w.writeLine("close: () => object.close(),");
      w.writeLine("[Symbol.dispose]: () => object.close(),");
    }).write(";").newLine();
  });
  w.write("catch (error)").block(() => {
    w.writeLine("object.close();");
    w.writeLine("throw error;");
  });
}

/** Parameters into the bytes of struct pg_params (the object's .rodata), defaults filled in. */
function paramsEncoder(w: CodeBlockWriter, probe: IrProbe): void {
  const pascal = probe.ts.probe.replace(/Probe$/, "");
  const at = new Map(probe.paramsLayout.members.map((m) => [m.name, m.offset]));
  w.writeLine(`/** Parameters into the bytes of struct pg_params, the object's .rodata (layout checked in C). */`);
  w.write(`function encodeParams(params: ${pascal}Params = {}): Uint8Array `).block(() => {
    w.writeLine(`checkParamNames(${JSON.stringify(probe.name)}, params, [${probe.params.map((p) => JSON.stringify(p.tsName)).join(", ")}]);`);
    w.writeLine(`const bytes = new Uint8Array(${probe.paramsLayout.size});`);
    w.writeLine("const view = new DataView(bytes.buffer);");
    for (const p of probe.params) {
      const size = p.type.kind === "bool" ? 1 : p.type.size;
      const signed = p.type.kind === "int" && p.type.signed;
      const fallback = p.type.kind === "bool" ? String(p.default !== 0n) : `${p.default}n`;
      const type = p.type.kind === "bool" ? "bool" : intTypeName(p.type);
      const value = `checkParam(${JSON.stringify(probe.name)}, ${JSON.stringify(p.tsName)}, params.${p.tsName}, ${fallback}, "${type}")`;
      const offset = at.get(p.name)!;
      if (size === 8) w.writeLine(`view.set${signed ? "BigInt" : "BigUint"}64(${offset}, ${value}, true);`);
      else if (size === 1) w.writeLine(`view.set${signed ? "Int" : "Uint"}8(${offset}, Number(${value}));`);
      else w.writeLine(`view.set${signed ? "Int" : "Uint"}${size * 8}(${offset}, Number(${value}), true);`);
    }
    w.writeLine("return bytes;");
  });
}

/** `view.getUint32(offset + 4, true)` and friends, at the layout's offsets. */
function readExpr(t: ScalarOrString, at: string): string {
  switch (t.kind) {
    case "bool": return `view.getUint8(${at}) !== 0`;
    case "string": return `readCString(view, ${at}, ${t.size})`;
    case "int": {
      const bits = t.size * 8;
      const method = t.size === 8 ? `get${t.signed ? "BigInt" : "BigUint"}64` : `get${t.signed ? "Int" : "Uint"}${bits}`;
      return t.size === 1 ? `view.${method}(${at})` : `view.${method}(${at}, true)`;
    }
  }
}

/** A checked write (the runtime refuses values that do not fit); `member` names a struct member in its errors. */
function writeStmt(t: ScalarOrString, at: string, value: string, member?: string): string {
  const named = member === undefined ? "" : `, ${JSON.stringify(member)}`;
  switch (t.kind) {
    case "bool": return `writeBool(view, ${at}, ${value}${named});`;
    case "string": return `writeCString(view, ${at}, ${t.size}, ${value}${named});`;
    case "int": return `writeInt(view, ${at}, "${intTypeName(t)}", ${value}${named});`;
  }
}

function intTypeName(t: { size: number; signed: boolean }): string {
  return `${t.signed ? "i" : "u"}${t.size * 8}`;
}

/** A 64-bit integer as a number from its two 32-bit halves: no BigInt, exact below 2^53. */
function readAsNumber(signed: boolean, offset: number): string {
  return `view.getUint32(${plus(offset)}, true) + view.get${signed ? "Int" : "Uint"}32(${plus(offset + 4)}, true) * 4294967296`;
}

function plus(offset: number): string {
  return offset === 0 ? "offset" : `offset + ${offset}`;
}

function eventObject(w: CodeBlockWriter, event: IrEvent): void {
  const at = new Map(event.layout.members.map((m) => [m.name, m.offset]));
  w.inlineBlock(() => {
    if (event.tag !== undefined) w.writeLine(`type: ${JSON.stringify(event.name)},`);
    for (const f of event.fields) {
      const offset = at.get(f.name)!;
      w.writeLine(`${f.tsName}: ${f.asNumber && f.type.kind === "int" ? readAsNumber(f.type.signed, offset) : readExpr(f.type, plus(offset))},`);
    }
  });
}

function recordDecoder(w: CodeBlockWriter, probe: IrProbe, r: IrMap): void {
  const type = ringEventType(probe, r);
  w.writeLine(`/** Decodes one record of the '${r.name}' ring buffer (layout checked in C by _Static_assert). */`);
  w.write(`export function ${decoderName(probe, r)}(view: DataView, offset: number): ${type} `).block(() => {
    if (r.events.length === 1) {
      w.write("return ");
      eventObject(w, r.events[0]!);
      w.write(";").newLine();
      return;
    }
    if (r.events.length === 0) {
      w.writeLine(`throw new Error("the '${r.name}' ring buffer carries no events");`);
      return;
    }
    w.write("switch (view.getUint32(offset, true)) ").block(() => {
      for (const e of r.events) {
        w.write(`case ${e.tag}:`).newLine().indent(() => {
          w.write("return ");
          eventObject(w, e);
          w.write(";").newLine();
        });
      }
      w.writeLine("default:");
      w.indent(() => w.writeLine(`throw new Error(\`unknown event type \${view.getUint32(offset, true)} in the '${r.name}' ring buffer\`);`));
    });
  });
}

function codecName(m: IrMap, role: "key" | "value"): string {
  return `${m.tsName}${role === "key" ? "Key" : "Value"}Codec`;
}

function mapCodecs(w: CodeBlockWriter, m: IrMap): void {
  for (const role of ["key", "value"] as const) {
    const t = m[role]!;
    const perCpu = role === "value" && isPerCpu(m);
    const name = perCpu ? `${codecName(m, role)}OneCpu` : codecName(m, role);
    const tsT = role === "value" ? valueTsType(t) : mapTsType(t);
    if (t.histogram) {
      const h = t.histogram;
      const shape = h.kind === "log2" ? `{ kind: "log2" }` : `{ kind: "linear", min: ${h.min}, max: ${h.max}, step: ${h.step} }`;
      w.writeLine(`const ${name}: Codec<Histogram> = histogramCodec(${shape}, ${h.slots});`);
    } else {
      w.write(`const ${name}: Codec<${tsT}> = `).inlineBlock(() => codecBody(w, t)).write(";").newLine();
    }
    if (perCpu) {
      w.writeLine(`/** One value per possible CPU; \`total\` adds them up. */`);
      w.writeLine(`const ${codecName(m, role)}: Codec<PerCpu<${tsT}>> = perCpuCodec(${name}, ${adder(t)});`);
    }
  }
}

function codecBody(w: CodeBlockWriter, t: IrMapType): void {
  w.writeLine(`size: ${t.size},`);
  if (t.scalar) {
    w.writeLine(`decode: (view, offset) => ${readExpr(t.scalar, "offset")},`);
    w.writeLine(`encode: (value, view, offset) => ${writeStmt(t.scalar, "offset", "value").replace(/;$/, "")},`);
    return;
  }
  const s = t.struct!;
  const layout: StructLayout = s.layout;
  const at = new Map(layout.members.map((x) => [x.name, x.offset]));
  w.write("decode: (view, offset) => (").inlineBlock(() => {
    for (const x of s.members) w.writeLine(`${x.tsName}: ${readExpr(x.type, plus(at.get(x.name)!))},`);
  }).write("),").newLine();
  w.write("encode: (value, view, offset) => ").inlineBlock(() => {
    w.writeLine(`beginStruct(view, offset, ${layout.size}, value, [${s.members.map((x) => JSON.stringify(x.tsName)).join(", ")}]);`);
    for (const x of s.members) w.writeLine(writeStmt(x.type, plus(at.get(x.name)!), `value.${x.tsName}`, x.tsName));
  }).write(",").newLine();
}

/** How two CPUs' values add up: numbers, bigints, histograms, structs member by member. */
function adder(t: IrMapType): string {
  if (t.histogram) return "(a, b) => a.add(b)";
  if (t.scalar) return t.scalar.kind === "int" ? "(a, b) => a + b" : t.scalar.kind === "bool" ? "(a, b) => a || b" : "(a) => a";
  const members = t.struct!.members.map((x) => {
    const v = x.type.kind === "int" ? `a.${x.tsName} + b.${x.tsName}` : x.type.kind === "bool" ? `a.${x.tsName} || b.${x.tsName}` : `a.${x.tsName}`;
    return `${x.tsName}: ${v}`;
  });
  return `(a, b) => ({ ${members.join(", ")} })`;
}

function isPerCpu(m: IrMap): boolean {
  return m.kind.includes("percpu");
}

function valueTsType(t: IrMapType): string {
  return t.histogram ? "Histogram" : mapTsType(t);
}

function mapValueTsType(m: IrMap): string {
  const v = valueTsType(m.value!);
  return isPerCpu(m) ? `PerCpu<${v}>` : v;
}

function definition(w: CodeBlockWriter, probe: IrProbe): void {
  w.write("const definition: ObjectDefinition = ").inlineBlock(() => {
    w.writeLine(`name: ${JSON.stringify(probe.name)},`);
    w.writeLine(`source: ${JSON.stringify(probe.source)},`);
    w.writeLine("object: objectBytes(),");
    w.write("programs: [").newLine().indent(() => {
      for (const p of probe.programs) w.writeLine(`{ name: ${JSON.stringify(p.name)}, attach: ${JSON.stringify(p.section)}, line: ${p.span.line} },`);
    }).write("],").newLine();
    w.write("maps: [").newLine().indent(() => {
      for (const m of probe.maps) {
        w.writeLine(`{ name: ${JSON.stringify(m.name)}, type: ${JSON.stringify(m.kind)}, keySize: ${m.key?.size ?? 0}, valueSize: ${m.value?.size ?? 0}, maxEntries: ${m.maxEntries} },`);
      }
    }).write("],").newLine();
  }).write(";").newLine();
}

function embeddedObject(w: CodeBlockWriter, object: Uint8Array): void {
  const base64 = Buffer.from(object).toString("base64");
  const lines = base64.match(/.{1,100}/g) ?? [];
  w.writeLine(`/** The compiled BPF object (${object.length} bytes), the same bytes as the .bpf.o beside this file. */`);
  w.write("function objectBytes(): Uint8Array ").block(() => {
    w.writeLine("return Buffer.from(");
    w.indent(() => {
      lines.forEach((l, i) => w.writeLine(`"${l}"${i < lines.length - 1 ? " +" : ","}`));
      w.writeLine('"base64",');
    });
    w.writeLine(");");
  });
}
