/**
 * Emit TS: the typed loader for one probe, built with ts-morph from the IR and the layouts.
 * The output should read like what a careful person would write by hand.
 */
import type { CodeBlockWriter, Project as ProjectType, SourceFile, StatementStructures, WriterFunction } from "ts-morph";
import { attachKind } from "./attach/index.js";
import { isKeyed, isSocketMap, mapTypeSize, type IrEvent, type IrKeyedMap, type IrMap, type IrMapType, type IrMetric, type IrProbe } from "./ir.js";
import { cNames, tsNames, type MapTsNames } from "./names.js";
import { ringRecordSize, type StructLayout } from "./layout.js";
import { pathInComment, tsDocText, tsStringLiteral } from "./escape.js";
import { version } from "./package-info.js";
import { isByteArray, typeName, type ScalarOrString } from "./types.js";
import { decodedTsType, decodersOf, type IrDecoder, type SymbolTable } from "./decode.js";

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

/**
 * The runtime exports a loader may use, in the order its import lists them. The emitter records
 * each one as it prints it (RuntimeImports), so the import says exactly what the file uses; one
 * the probe declares itself (`loadObject` for a probe named `object`) is imported as `runtimeX`.
 */
const runtimeValues = ["loadObject", "TypedMap", "MapValue", "SockMap", "readCString", "readCStrings", "writeCString", "writeInt", "writeBool", "beginStruct", "readBigInts", "readBytes", "readInts", "writeBigInts", "writeInts", "histogramCodec", "perCpuCodec", "checkParam", "writeStringParam", "checkParamNames", "probeStats", "symbolNames", "symbolOf", "rawValue", "flagsDecoder", "flagsValue", "ipv4", "ipv6", "inetAddr", "writeInetAddr", "ksym", "wallclock", "notEncodable", "mapMetrics", "exposition", "readStack", "writeStack"] as const;
const runtimeTypes = ["Codec", "EventStream", "ProbeStats", "Histogram", "PerCpu", "LoadedObject", "LoadOptions", "ObjectDefinition", "SocketLike", "SocketAttachment", "MetricDefinition", "MetricFamily", "StackTrace"] as const;

class RuntimeImports {
  private readonly used = new Set<string>();

  /** `declared`: the names the loader declares at its top level. */
  constructor(private readonly declared: ReadonlySet<string>) {}

  /** `name` as the file knows it, recorded as used. */
  value(name: (typeof runtimeValues)[number]): string {
    this.used.add(name);
    return this.local(name);
  }

  type(name: (typeof runtimeTypes)[number]): string {
    this.used.add(name);
    return this.local(name);
  }

  private local(name: string): string {
    return this.declared.has(name) ? `runtime${name.charAt(0).toUpperCase()}${name.slice(1)}` : name;
  }

  namedImports(): string[] {
    const named = (n: string) => (this.local(n) === n ? n : `${n} as ${this.local(n)}`);
    return [...runtimeValues.filter((n) => this.used.has(n)).map(named), ...runtimeTypes.filter((n) => this.used.has(n)).map((n) => `type ${named(n)}`)];
  }
}

/** Every name the loader declares at its top level (names.ts made them all). */
function declaredNames(probe: IrProbe): Set<string> {
  const structs = probe.maps.flatMap((m) => [m.key, m.value]).flatMap((t) => (t?.kind === "struct" ? [t.struct.tsName] : []));
  return new Set([...Object.values(probe.ts), ...probe.events.map((e) => e.tsName), ...probe.maps.flatMap((m) => Object.values(m.ts ?? {})), ...structs]);
}

/**
 * The number -> name tables the loader exports, each under one name: tables equal in content
 * share it (`oldstate` and `newstate`), and a name another table or declaration took gets a number.
 */
class DecodeTables {
  private readonly byContent = new Map<string, { table: SymbolTable; kind: "symbolic" | "flags"; name: string }>();

  constructor(probe: IrProbe, private readonly declared: Set<string>) {
    for (const d of decodersOf(probe)) if (d?.kind === "symbolic" || d?.kind === "flags") this.add(d.table, d.kind);
  }

  private add(table: SymbolTable, kind: "symbolic" | "flags"): void {
    const key = contentKey(table, kind);
    if (this.byContent.has(key)) return;
    let name = table.tsName;
    for (let i = 2; this.declared.has(name); i++) name = `${table.tsName}${i}`;
    this.declared.add(name);
    this.byContent.set(key, { table, kind, name });
  }

  /** The exported const (and type) of a table. */
  name(table: SymbolTable, kind: "symbolic" | "flags"): string {
    return this.byContent.get(contentKey(table, kind))!.name;
  }

  all(): Array<{ table: SymbolTable; kind: "symbolic" | "flags"; name: string }> {
    return [...this.byContent.values()];
  }
}

function contentKey(t: SymbolTable, kind: string): string {
  return `${kind}:${t.tsName}:${t.entries.map((e) => `${e.value}/${e.mask ?? ""}=${e.name}`).join(",")}`;
}

/** The module-level consts a table's decoder reads: value -> name map, or the flags text function. */
function decoderConst(name: string, kind: "symbolic" | "flags"): string {
  return kind === "symbolic" ? `namesOf${name}` : `textOf${name}`;
}

type Statement = string | WriterFunction | StatementStructures;

/** What every part of the loader is printed from. */
interface Emit {
  probe: IrProbe;
  rt: RuntimeImports;
  Kind: TsMorph["StructureKind"];
  rings: IrMap[];
  /** The 'events' ring buffer: the probe's `events` stream. */
  defaultRing?: IrMap;
  /** Maps the TS API types (not ring buffers, not internal plumbing). */
  typedMaps: IrKeyedMap[];
  tables: DecodeTables;
}

export async function emitTs(probe: IrProbe, options: EmitTsOptions): Promise<string> {
  const { m, project } = await morph();
  const rings = probe.maps.filter((x) => x.kind === "ringbuf");
  const declared = declaredNames(probe);
  const tables = new DecodeTables(probe, declared);
  const e: Emit = {
    probe, rt: new RuntimeImports(declared), Kind: m.StructureKind, rings, defaultRing: rings.find((x) => x.name === "events"),
    typedMaps: probe.maps.filter(isKeyed).filter((x) => !x.internal), tables,
  };
  const statements: Statement[] = [
    ...tableStatements(e),
    ...eventTypes(e),
    ...mapStructTypes(e),
    ...optionTypes(e),
    mapsInterface(e),
    probeInterface(e),
    loaderFunction(e),
    ...e.rings.map((r): Statement => (w) => recordDecoder(w, e, r)),
    ...e.typedMaps.map((x): Statement => (w) => mapCodecs(w, e, x)),
    ...(probe.params.length ? [(w: CodeBlockWriter) => paramsEncoder(w, e)] : []),
    (w) => definition(w, e),
    (w) => embeddedObject(w, options.object),
  ];
  const file: SourceFile = project.createSourceFile(`/${probe.name}.ts`, { statements }, { overwrite: true });
  // Printing recorded what the file uses from the runtime.
  file.insertImportDeclaration(0, { moduleSpecifier: options.runtimeImport, namedImports: e.rt.namedImports() });
  const header = [
    `// Code generated by probegen ${version} from ${pathInComment(probe.source, "ts")}. DO NOT EDIT.`,
    `// Edit the spec and run: probegen build ${pathInComment(probe.source, "ts")}`,
    "",
  ].join("\n");
  const text = header + file.getFullText();
  project.removeSourceFile(file);
  return text;
}

/** One interface per event, and one union per ring buffer. */
function eventTypes({ probe, Kind, rings, tables, rt }: Emit): Statement[] {
  return [
    ...probe.events.map((event): Statement => ({
      kind: Kind.Interface,
      name: event.tsName,
      isExported: true,
      docs: docs(event.description ?? `Event '${event.name}'.`),
      properties: [
        ...(event.tag !== undefined ? [{ name: "type", type: JSON.stringify(event.name), isReadonly: true, docs: docs("Which event this is.") }] : []),
        ...event.fields.flatMap((f) => [
          { name: f.tsName, type: f.decode ? decodedType(f.decode, tables) : f.asNumber ? "number" : tsType(f.type, rt), docs: docs(f.description) },
          ...(f.type.kind === "string_list"
            ? [{ name: tsNames.listTruncated(f.tsName), type: "boolean", docs: docs(`Whether ${f.tsName} had more than ${f.type.count} strings (only the first ${f.type.count} are kept).`) }]
            : []),
        ]),
      ],
    })),
    ...rings.map((r): Statement => ({
      kind: Kind.TypeAlias,
      name: names(r).eventType,
      isExported: true,
      docs: docs(`Every event of the '${r.name}' ring buffer.`),
      type: r.events.length ? r.events.map((x) => x.tsName).join(" | ") : "never",
    })),
  ];
}

/** Interfaces of struct keys and values. */
function mapStructTypes({ Kind, typedMaps, tables, rt }: Emit): Statement[] {
  return typedMaps.flatMap((map) => (["key", "value"] as const).flatMap((role): Statement[] => {
    const t = map[role];
    if (t.kind !== "struct") return [];
    return [{
      kind: Kind.Interface,
      name: t.struct.tsName,
      isExported: true,
      docs: docs(`${role === "key" ? "Key" : "Value"} of map '${map.name}'.`),
      properties: t.struct.members.map((mm) => ({ name: mm.tsName, type: mm.decode ? decodedType(mm.decode, tables) : tsType(mm.type, rt) })),
    }];
  }));
}

/** What loadX() takes: parameters, map sizes, and the runtime's options. */
function optionTypes({ probe, Kind, rt }: Emit): Statement[] {
  const params = probe.params;
  return [
    ...(params.length ? [{
      kind: Kind.Interface,
      name: probe.ts.params,
      isExported: true,
      docs: docs(`Runtime parameters of ${probe.name}, set at load; each has a default.`),
      properties: params.map((p) => ({
        name: p.tsName,
        hasQuestionToken: true,
        type: p.type.kind === "bool" ? "boolean" : p.type.kind === "string" ? "string" : p.type.size === 8 ? "bigint | number" : "number",
        docs: docs(`${p.description ? `${p.description} ` : ""}(${typeName(p.type)}, default ${p.type.kind === "bool" ? String(p.default !== 0n) : typeof p.default === "string" ? tsStringLiteral(p.default) : String(p.default)})`),
      })),
    } satisfies Statement] : []),
    {
      kind: Kind.Interface,
      name: probe.ts.mapSizes,
      isExported: true,
      docs: docs("Map sizes that replace the spec's at load."),
      properties: resizable(probe).map((x) => ({
        name: x.tsName,
        hasQuestionToken: true,
        type: x.kind === "ringbuf" ? "{ size?: number }" : "{ maxEntries: number }",
        docs: docs(x.kind === "ringbuf"
          ? `Ring buffer size in bytes, a power of two (default ${x.maxEntries}); it must hold what the programs write in drainIntervalMs.`
          : `Largest number of entries (default ${x.maxEntries}).`),
      })),
    },
    {
      kind: Kind.Interface,
      name: probe.ts.loadOptions,
      isExported: true,
      extends: [rt.type("LoadOptions")],
      docs: docs(`How to load ${probe.name}: ${params.length ? "parameters, " : ""}map sizes, and the runtime's options.`),
      properties: [
        ...(params.length ? [{ name: "params", hasQuestionToken: true, type: probe.ts.params, docs: docs("Values of the runtime parameters.") }] : []),
        { name: "maps", hasQuestionToken: true, type: probe.ts.mapSizes, docs: docs("Map sizes instead of the spec's.") },
        ...placesAtLoad(probe).map((x) => ({ name: x.option, type: "string", docs: docs(x.docs) })),
      ],
    },
  ];
}

/** Where a probe's network programs attach, which its loader must be told (required options). */
function placesAtLoad(probe: IrProbe): Array<{ option: "interface" | "cgroup"; docs: string }> {
  const kinds = new Set(probe.programs.map((p) => p.attach.kind));
  return [
    ...(kinds.has("xdp") || kinds.has("tc") ? [{ option: "interface" as const, docs: [
      `The network interface the programs attach to ("eth0"; probegen list interfaces)`,
      ...(kinds.has("tc") ? [": tc programs with a tcx link where the kernel has them, else a clsact filter (tcMode chooses)"] : []),
      ".",
    ].join("") }] : []),
    ...(kinds.has("cgroup_skb") ? [{ option: "cgroup" as const, docs: "The cgroup v2 directory the cgroup_skb programs attach to: absolute, or relative to the cgroup2 mount." }] : []),
  ];
}

/** The socket filter programs: the probe attaches them to sockets the app hands it. */
function socketFilters(probe: IrProbe): string[] {
  return probe.programs.filter((p) => p.attach.kind === "socket").map((p) => p.name);
}

function mapsInterface({ probe, Kind, rt, typedMaps, tables }: Emit): Statement {
  return {
    kind: Kind.Interface,
    name: probe.ts.maps,
    isExported: true,
    docs: docs(`The maps of ${probe.name}, typed.`),
    properties: typedMaps.map((x) => ({
      name: x.tsName,
      isReadonly: true,
      type: isSocketMap(x.kind)
        ? `${rt.value("SockMap")}<${mapTsType(x.key, rt, tables)}>`
        : x.keyless
          ? `${rt.value("MapValue")}<${mapValueTsType(x, rt, tables)}${x.kind.includes("hash") ? " | undefined" : ""}>`
          : `${rt.value("TypedMap")}<${mapTsType(x.key, rt, tables)}, ${mapValueTsType(x, rt, tables)}>`,
      docs: docs(x.description ?? (isSocketMap(x.kind) ? `Map '${x.name}' (${x.kind}, at most ${x.maxEntries} sockets): add(key, socket) puts a socket in, reads give socket cookies.` : x.keyless ? `Map '${x.name}' (one value${isPerCpu(x) ? " per CPU" : ""}${x.kind.includes("hash") ? ", none until a program stores one" : ""}).` : `Map '${x.name}' (${x.kind}, at most ${x.maxEntries} entries).`)),
    })),
  };
}

function probeInterface({ probe, Kind, rt, rings, defaultRing }: Emit): Statement {
  const others = rings.filter((r) => r !== defaultRing);
  return {
    kind: Kind.Interface,
    name: probe.ts.probe,
    isExported: true,
    extends: ["Disposable"],
    docs: docs(`${probe.name}, loaded and attached.${probe.description ? ` ${probe.description}` : ""}`),
    properties: [
      ...(defaultRing ? [{ name: "events", isReadonly: true, type: `${rt.type("EventStream")}<${names(defaultRing).eventType}>`, docs: docs("Events from the 'events' ring buffer: `for await (const ev of probe.events)`, or `probe.events.on(fn)`.") }] : []),
      ...(others.length
        ? [{ name: "streams", isReadonly: true, type: `{ ${others.map((r) => `readonly ${r.tsName}: ${rt.type("EventStream")}<${names(r).eventType}>`).join("; ")} }`, docs: docs("Events from the other ring buffers.") }]
        : []),
      { name: "maps", isReadonly: true, type: probe.ts.maps, docs: docs("Typed access to the probe's maps.") },
      { name: "object", isReadonly: true, type: rt.type("LoadedObject"), docs: docs("The loaded object: raw maps and program statistics.") },
      ...(metricMaps(probe).length ? [{ name: "metricDefinitions", isReadonly: true, type: `readonly ${rt.type("MetricDefinition")}[]`, docs: docs("The maps the spec exports as metrics: names, types, help and labels.") }] : []),
    ],
    methods: [
      ...(rings.length ? [{ name: "stats", returnType: rt.type("ProbeStats"), docs: docs("Ring buffer drops (reservations the kernel refused because a ring was full) and per-program statistics.") }] : []),
      ...(socketFilters(probe).length ? [{
        name: "attachSocket",
        parameters: [
          { name: "socket", type: rt.type("SocketLike") },
          ...(socketFilters(probe).length > 1 ? [{ name: "program", type: socketFilters(probe).map((n) => JSON.stringify(n)).join(" | ") }] : []),
        ],
        returnType: rt.type("SocketAttachment"),
        docs: docs("Filters a socket (net.Socket, dgram.Socket once bound, or an fd) through the socket filter program: it sees every packet the socket receives, until detach(), close() or the socket closes."),
      }] : []),
      ...(metricMaps(probe).length ? [
        { name: "metrics", returnType: "string", docs: docs(`Reads the metric maps (${metricMaps(probe).map((m) => m.name).join(", ")}) now: the Prometheus text format.`) },
        { name: "collectMetrics", parameters: [{ name: "names", type: "readonly string[]", hasQuestionToken: true }], returnType: `${rt.type("MetricFamily")}[]`, docs: docs("Reads the metric maps now: one family per metric (for prom-client, OpenTelemetry or your own exporter).") },
      ] : []),
      { name: "close", returnType: "void", docs: docs("Detaches every program and frees the maps. Idempotent.") },
    ],
  };
}

/** Maps the spec exports as metrics. */
function metricMaps(probe: IrProbe): Array<IrKeyedMap & { metric: IrMetric }> {
  return probe.maps.filter(isKeyed).filter((m): m is IrKeyedMap & { metric: IrMetric } => m.metric !== undefined);
}

/** The metric definitions, from the IR (checked by compiler/metrics.ts), and the maps they read with their own TypedMaps. */
function metricsSource(w: CodeBlockWriter, probe: IrProbe, rt: RuntimeImports): void {
  w.write(`const metrics = ${rt.value("mapMetrics")}([`).newLine().indent(() => {
    for (const m of metricMaps(probe)) {
      const x = m.metric;
      const labels = x.labels.map((l) => `{ name: ${tsStringLiteral(l.name)}${l.member !== undefined ? `, member: ${tsStringLiteral(l.member)}` : ""} }`).join(", ");
      w.writeLine(`{ map: ${tsStringLiteral(m.name)}, type: ${tsStringLiteral(x.type)}, name: ${tsStringLiteral(x.name)}, help: ${tsStringLiteral(x.help)}, labels: [${labels}], combine: ${tsStringLiteral(x.combine)} },`);
    }
  }).write("], ").inlineBlock(() => {
    for (const m of metricMaps(probe)) w.writeLine(`${propertyKey(m.name)}: new ${rt.value("TypedMap")}(object.map(${tsStringLiteral(m.name)}), ${codecName(m, "key")}, ${codecName(m, "value")}),`);
  }).write(");").newLine();
}

function loaderFunction(e: Emit): Statement {
  const { probe, Kind } = e;
  return {
    kind: Kind.Function,
    name: probe.ts.loader,
    isExported: true,
    isAsync: true,
    docs: docs(`Loads ${probe.name} (${pathInComment(probe.source, "ts")}) into the kernel and attaches its programs.`),
    // Options the probe cannot load without (an interface, a cgroup) leave no default.
    parameters: [{ name: "options", type: probe.ts.loadOptions, ...(placesAtLoad(probe).length ? {} : { initializer: "{}" }) }],
    returnType: `Promise<${probe.ts.probe}>`,
    statements: (w) => loaderBody(w, e),
  };
}

/** The maps a loader may size: not internal ones, nor a keyless map (one entry). */
function resizable(probe: IrProbe): IrMap[] {
  return probe.maps.filter((x) => !x.internal && !x.keyless);
}

function docs(text: string | undefined) {
  return text ? [tsDocText(text)] : [];
}

function tsType(t: ScalarOrString, rt: RuntimeImports): string {
  switch (t.kind) {
    case "int": return t.size === 8 ? "bigint" : "number";
    case "bool": return "boolean";
    case "string": return "string";
    case "array": return t.stack ? rt.type("StackTrace") : isByteArray(t) ? "Uint8Array" : `${tsType(t.element, rt)}[]`;
    case "string_list": return "string[]";
  }
}

function mapTsType(t: IrMapType, rt: RuntimeImports, tables?: DecodeTables): string {
  switch (t.kind) {
    case "struct": return t.struct.tsName;
    case "scalar": return t.decode && tables ? decodedType(t.decode, tables) : tsType(t.scalar, rt);
    case "histogram": return rt.type("Histogram");
  }
}

/** The identifiers the loader declares for a map the TS API shows (internal maps are not shown). */
function names(m: IrMap): MapTsNames {
  if (!m.ts) throw new Error(`map '${m.name}' has no TS names`);
  return m.ts;
}

function loaderBody(w: CodeBlockWriter, { probe, rt, rings, defaultRing, typedMaps }: Emit): void {
  const hasPublic = probe.params.length > 0;
  w.writeLine(`const { ${hasPublic ? "params, " : ""}maps: sizes, ...runtime } = options;`);
  w.writeLine("const mapSizes: Record<string, number> = {};");
  for (const x of resizable(probe)) {
    const field = x.kind === "ringbuf" ? "size" : "maxEntries";
    w.writeLine(`if (sizes?.${x.tsName}?.${field} !== undefined) mapSizes[${JSON.stringify(x.name)}] = sizes.${x.tsName}.${field};`);
  }
  const rodata = probe.params.length ? `, rodata: encodeParams(params)` : "";
  w.writeLine(`const object = await ${rt.value("loadObject")}({ ...definition${rodata} }, { ...runtime, mapSizes });`);
  w.write("try").block(() => {
    w.write(`const maps: ${probe.ts.maps} = `).inlineBlock(() => {
      for (const x of typedMaps) {
        const map = `new ${rt.value("TypedMap")}(object.map(${JSON.stringify(x.name)}), ${codecName(x, "key")}, ${codecName(x, "value")})`;
        const wrapped = isSocketMap(x.kind) ? `new ${rt.value("SockMap")}(${map})` : x.keyless ? `new ${rt.value("MapValue")}(${map})` : map;
        w.writeLine(`${x.tsName}: ${wrapped},`);
      }
    }).write(";").newLine();
    if (metricMaps(probe).length) metricsSource(w, probe, rt);
    w.write("return ").inlineBlock(() => {
      if (defaultRing) w.writeLine(`events: object.ringBuffer(${JSON.stringify(defaultRing.name)}, ${names(defaultRing).decoder}),`);
      const others = rings.filter((r) => r !== defaultRing);
      if (others.length) {
        w.write("streams: ").inlineBlock(() => {
          for (const r of others) w.writeLine(`${r.tsName}: object.ringBuffer(${JSON.stringify(r.name)}, ${names(r).decoder}),`);
        }).write(",").newLine();
      }
      w.writeLine("maps,");
      w.writeLine("object,");
      if (rings.length) w.writeLine(`stats: () => ${rt.value("probeStats")}(object),`);
      const filters = socketFilters(probe);
      if (filters.length === 1) w.writeLine(`attachSocket: (socket) => object.attachSocket(socket, ${JSON.stringify(filters[0])}),`);
      if (filters.length > 1) w.writeLine("attachSocket: (socket, program) => object.attachSocket(socket, program),");
      if (metricMaps(probe).length) {
        w.writeLine("metricDefinitions: metrics.metricDefinitions,");
        w.writeLine("collectMetrics: (names) => metrics.collectMetrics(names),");
        w.writeLine(`metrics: () => ${rt.value("exposition")}(metrics.collectMetrics()),`);
      }
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
function paramsEncoder(w: CodeBlockWriter, { probe, rt }: Emit): void {
  const at = new Map(probe.paramsLayout.members.map((m) => [m.name, m.offset]));
  w.writeLine(`/** Parameters into the bytes of struct pg_params, the object's .rodata (layout checked in C). */`);
  w.write(`function encodeParams(params: ${probe.ts.params} = {}): Uint8Array `).block(() => {
    w.writeLine(`${rt.value("checkParamNames")}(${JSON.stringify(probe.name)}, params, [${probe.params.map((p) => JSON.stringify(p.tsName)).join(", ")}]);`);
    w.writeLine(`const bytes = new Uint8Array(${probe.paramsLayout.size});`);
    w.writeLine("const view = new DataView(bytes.buffer);");
    for (const p of probe.params) {
      if (p.type.kind === "string") {
        const value = tsStringLiteral(p.default as string);
        w.writeLine(`${rt.value("writeStringParam")}(${JSON.stringify(probe.name)}, ${JSON.stringify(p.tsName)}, params.${p.tsName}, ${value}, view, ${at.get(p.name)!}, ${p.type.size});`);
        continue;
      }
      const size = p.type.kind === "bool" ? 1 : p.type.size;
      const signed = p.type.kind === "int" && p.type.signed;
      const fallback = p.type.kind === "bool" ? String(p.default !== 0n) : `${p.default}n`;
      const type = p.type.kind === "bool" ? "bool" : intTypeName(p.type);
      const value = `${rt.value("checkParam")}(${JSON.stringify(probe.name)}, ${JSON.stringify(p.tsName)}, params.${p.tsName}, ${fallback}, "${type}")`;
      const offset = at.get(p.name)!;
      if (size === 8) w.writeLine(`view.set${signed ? "BigInt" : "BigUint"}64(${offset}, ${value}, true);`);
      else if (size === 1) w.writeLine(`view.set${signed ? "Int" : "Uint"}8(${offset}, Number(${value}));`);
      else w.writeLine(`view.set${signed ? "Int" : "Uint"}${size * 8}(${offset}, Number(${value}), true);`);
    }
    w.writeLine("return bytes;");
  });
}

/** `view.getUint32(offset + 4, true)` and friends, at the layout's offsets. */
function readExpr(t: ScalarOrString, at: string, rt: RuntimeImports): string {
  switch (t.kind) {
    case "bool": return `view.getUint8(${at}) !== 0`;
    case "string": return `${rt.value("readCString")}(view, ${at}, ${t.size})`;
    case "array": {
      if (t.stack) return `${rt.value("readStack")}(view, ${at}, "${t.stack}")`;
      if (isByteArray(t)) return `${rt.value("readBytes")}(view, ${at}, ${t.length})`;
      const { size, signed } = t.element;
      return size === 8 ? `${rt.value("readBigInts")}(view, ${at}, ${t.length}, ${signed})` : `${rt.value("readInts")}(view, ${at}, ${t.length}, ${size}, ${signed})`;
    }
    case "string_list": throw new Error("a list of strings is read with its count (eventObject)");
    case "int": {
      const bits = t.size * 8;
      const method = t.size === 8 ? `get${t.signed ? "BigInt" : "BigUint"}64` : `get${t.signed ? "Int" : "Uint"}${bits}`;
      return t.size === 1 ? `view.${method}(${at})` : `view.${method}(${at}, true)`;
    }
  }
}

/** A checked write (the runtime refuses values that do not fit); `member` names a struct member in its errors. */
function writeStmt(t: ScalarOrString, at: string, value: string, rt: RuntimeImports, member?: string): string {
  const named = member === undefined ? "" : `, ${JSON.stringify(member)}`;
  switch (t.kind) {
    case "string_list": throw new Error("a list of strings in a map");
    case "bool": return `${rt.value("writeBool")}(view, ${at}, ${value}${named});`;
    case "string": return `${rt.value("writeCString")}(view, ${at}, ${t.size}, ${value}${named});`;
    case "int": return `${rt.value("writeInt")}(view, ${at}, "${intTypeName(t)}", ${value}${named});`;
    case "array": {
      if (t.stack) return `${rt.value("writeStack")}(view, ${at}, "${t.stack}", ${value});`;
      const { size, signed } = t.element;
      return size === 8
        ? `${rt.value("writeBigInts")}(view, ${at}, ${t.length}, ${signed}, ${value});`
        : `${rt.value("writeInts")}(view, ${at}, ${t.length}, ${size}, ${signed}, ${value});`;
    }
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

function eventObject(w: CodeBlockWriter, event: IrEvent, rt: RuntimeImports, tables: DecodeTables): void {
  const at = new Map(event.layout.members.map((m) => [m.name, m.offset]));
  w.inlineBlock(() => {
    if (event.tag !== undefined) w.writeLine(`type: ${JSON.stringify(event.name)},`);
    for (const f of event.fields) {
      const offset = at.get(f.name)!;
      if (f.type.kind === "string_list") {
        const count = `view.getUint8(${plus(at.get(cNames.listCount(f.name))!)})`;
        w.writeLine(`${f.tsName}: ${rt.value("readCStrings")}(view, ${plus(offset)}, ${f.type.size}, Math.min(${count}, ${f.type.count})),`);
        w.writeLine(`${tsNames.listTruncated(f.tsName)}: view.getUint8(${plus(at.get(cNames.listMore(f.name))!)}) !== 0,`);
        continue;
      }
      const read = f.decode ? decodedRead(f.type, f.decode, plus(offset), rt, tables)
        : f.asNumber && f.type.kind === "int" ? readAsNumber(f.type.signed, offset) : readExpr(f.type, plus(offset), rt);
      w.writeLine(`${f.tsName}: ${read},`);
    }
  });
}

// ---- decoded values (decode.ts) ------------------------------------------------------------------

/** Each table as `export const TcpState = { TCP_ESTABLISHED: 1, ... } as const`, its type, and its decoder. */
function tableStatements({ tables, rt }: Emit): Statement[] {
  return tables.all().map(({ table, kind, name }): Statement => (w) => {
    const seen = new Set<string>();
    const unique = table.entries.filter((e) => !seen.has(e.name) && seen.add(e.name));
    w.writeLine(`/** ${kind === "symbolic" ? "Names" : "Flags"} of the values, from ${tsDocText(table.origin)}: \`${name}.${unique[0]?.name ?? "X"}\` is ${unique[0]?.value ?? 0}. */`);
    w.write(`export const ${name} = `).inlineBlock(() => {
      for (const e of unique) w.writeLine(`${propertyKey(e.name)}: ${e.value},`);
    }).write(" as const;").newLine();
    if (kind === "symbolic") {
      w.writeLine(`export type ${name} = keyof typeof ${name};`);
      w.writeLine(`const ${decoderConst(name, kind)} = ${rt.value("symbolNames")}(${name});`);
    } else {
      const entries = table.entries.map((e) => `[${e.value}, ${e.mask ?? e.value}, ${JSON.stringify(e.name)}]`);
      w.writeLine(`const ${decoderConst(name, kind)} = ${rt.value("flagsDecoder")}([${entries.join(", ")}]);`);
    }
    w.blankLine();
  });
}

function propertyKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** The TS type of a decoded value: a table's names or the number it lacks, text, a Date. */
function decodedType(d: IrDecoder, tables: DecodeTables): string {
  if (d.kind === "symbolic") return `${tables.name(d.table, d.kind)} | number`;
  return decodedTsType(d, "number");
}

/** An integer as a number, however wide (a table's values are numbers): no BigInt. */
function numberRead(t: ScalarOrString, at: string, rt: RuntimeImports): string {
  if (t.kind === "int" && t.size === 8) return `view.getUint32(${at}, true) + view.get${t.signed ? "Int" : "Uint"}32(${at} + 4, true) * 4294967296`;
  return readExpr(t, at, rt);
}

/** Reads a value and shows it as its decoder says. */
function decodedRead(t: ScalarOrString, d: IrDecoder, at: string, rt: RuntimeImports, tables: DecodeTables): string {
  switch (d.kind) {
    case "symbolic": return `${rt.value("symbolOf")}(${decoderConst(tables.name(d.table, d.kind), d.kind)}, ${numberRead(t, at, rt)})`;
    case "flags": return `${decoderConst(tables.name(d.table, d.kind), d.kind)}(${numberRead(t, at, rt)})`;
    case "ksym": return `${rt.value("ksym")}(${readExpr(t, at, rt)})`;
    case "port": return `view.getUint16(${at}, false)`;
    case "ipv4": return `${rt.value("ipv4")}(view, ${at})`;
    case "ipv6": return `${rt.value("ipv6")}(view, ${at})`;
    case "inet_addr": return `${rt.value("inetAddr")}(view, ${at}, ${addressBytes(t)})`;
    case "wallclock": return `${rt.value("wallclock")}(${readExpr(t, at, rt)}, "${d.clock}")`;
  }
}

function addressBytes(t: ScalarOrString): 4 | 16 {
  return (t.kind === "array" ? t.element.size * t.length : t.kind === "int" ? t.size : 0) === 16 ? 16 : 4;
}

/** Writes a decoded value (a map key looked up by name) back as the number it shows. */
function decodedWrite(t: ScalarOrString, d: IrDecoder, at: string, value: string, rt: RuntimeImports, tables: DecodeTables, member?: string): string {
  switch (d.kind) {
    case "symbolic": return writeStmt(t, at, `${rt.value("rawValue")}(${tables.name(d.table, d.kind)}, ${value})`, rt, member);
    case "flags": return writeStmt(t, at, `${rt.value("flagsValue")}(${tables.name(d.table, d.kind)}, ${value})`, rt, member);
    case "port": return `${writeStmt(t, at, value, rt, member).replace(/;$/, "")}, view.setUint16(${at}, view.getUint16(${at}, true), false);`;
    case "ipv4": case "ipv6": case "inet_addr": return `${rt.value("writeInetAddr")}(view, ${at}, ${addressBytes(t)}, ${value});`;
    case "ksym": case "wallclock": return `${rt.value("notEncodable")}(${JSON.stringify(d.kind)});`;
  }
}

function recordDecoder(w: CodeBlockWriter, { rt, tables }: Emit, r: IrMap): void {
  const type = names(r).eventType;
  w.writeLine(`/** Decodes one record of the '${r.name}' ring buffer (layout checked in C by _Static_assert). */`);
  w.write(`export function ${names(r).decoder}(view: DataView, offset: number): ${type} `).block(() => {
    if (r.events.length === 1) {
      w.write("return ");
      eventObject(w, r.events[0]!, rt, tables);
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
          eventObject(w, e, rt, tables);
          w.write(";").newLine();
        });
      }
      w.writeLine("default:");
      w.indent(() => w.writeLine(`throw new Error(\`unknown event type \${view.getUint32(offset, true)} in the '${r.name}' ring buffer\`);`));
    });
  });
}

function codecName(m: IrMap, role: "key" | "value"): string {
  return role === "key" ? names(m).keyCodec : names(m).valueCodec;
}

function mapCodecs(w: CodeBlockWriter, { rt, tables }: Emit, m: IrKeyedMap): void {
  for (const role of ["key", "value"] as const) {
    const t = m[role];
    const perCpu = role === "value" && isPerCpu(m);
    const name = perCpu ? names(m).oneCpuCodec : codecName(m, role);
    const tsT = mapTsType(t, rt, tables);
    const codec = rt.type("Codec");
    if (t.kind === "histogram") {
      const h = t.histogram;
      const shape = h.kind === "log2" ? `{ kind: "log2" }` : `{ kind: "linear", min: ${h.min}, max: ${h.max}, step: ${h.step} }`;
      w.writeLine(`const ${name}: ${codec}<${tsT}> = ${rt.value("histogramCodec")}(${shape}, ${h.slots});`);
    } else {
      w.write(`const ${name}: ${codec}<${tsT}> = `).inlineBlock(() => codecBody(w, t, rt, tables)).write(";").newLine();
    }
    if (perCpu) {
      w.writeLine(`/** One value per possible CPU; \`total\` adds them up. */`);
      w.writeLine(`const ${codecName(m, role)}: ${codec}<${rt.type("PerCpu")}<${tsT}>> = ${rt.value("perCpuCodec")}(${name}, ${adder(t)});`);
    }
  }
}

function codecBody(w: CodeBlockWriter, t: IrMapType & { kind: "scalar" | "struct" }, rt: RuntimeImports, tables: DecodeTables): void {
  w.writeLine(`size: ${mapTypeSize(t)},`);
  if (t.kind === "scalar") {
    const read = t.decode ? decodedRead(t.scalar, t.decode, "offset", rt, tables) : readExpr(t.scalar, "offset", rt);
    const write = t.decode ? decodedWrite(t.scalar, t.decode, "offset", "value", rt, tables) : writeStmt(t.scalar, "offset", "value", rt);
    w.writeLine(`decode: (view, offset) => ${read},`);
    w.writeLine(`encode: (value, view, offset) => ${write.replace(/;$/, "")},`);
    return;
  }
  const s = t.struct;
  const layout: StructLayout = s.layout;
  const at = new Map(layout.members.map((x) => [x.name, x.offset]));
  w.write("decode: (view, offset) => (").inlineBlock(() => {
    for (const x of s.members) w.writeLine(`${x.tsName}: ${x.decode ? decodedRead(x.type, x.decode, plus(at.get(x.name)!), rt, tables) : readExpr(x.type, plus(at.get(x.name)!), rt)},`);
  }).write("),").newLine();
  w.write("encode: (value, view, offset) => ").inlineBlock(() => {
    w.writeLine(`${rt.value("beginStruct")}(view, offset, ${layout.size}, value, [${s.members.map((x) => JSON.stringify(x.tsName)).join(", ")}]);`);
    for (const x of s.members) {
      const at2 = plus(at.get(x.name)!);
      w.writeLine(x.decode ? decodedWrite(x.type, x.decode, at2, `value.${x.tsName}`, rt, tables, x.tsName) : writeStmt(x.type, at2, `value.${x.tsName}`, rt, x.tsName));
    }
  }).write(",").newLine();
}

/** How two CPUs' values add up: numbers, bigints, histograms, structs member by member. */
function adder(t: IrMapType): string {
  if (t.kind === "histogram") return "(a, b) => a.add(b)";
  // Strings and arrays have no sum: the total keeps the first CPU's.
  if (t.kind === "scalar") return t.scalar.kind === "int" ? "(a, b) => a + b" : t.scalar.kind === "bool" ? "(a, b) => a || b" : "(a) => a";
  const members = t.struct.members.map((x) => {
    const v = x.type.kind === "int" ? `a.${x.tsName} + b.${x.tsName}` : x.type.kind === "bool" ? `a.${x.tsName} || b.${x.tsName}` : `a.${x.tsName}`;
    return `${x.tsName}: ${v}`;
  });
  return `(a, b) => ({ ${members.join(", ")} })`;
}

function isPerCpu(m: IrMap): boolean {
  return m.kind.includes("percpu");
}

function mapValueTsType(m: IrKeyedMap, rt: RuntimeImports, tables: DecodeTables): string {
  const v = mapTsType(m.value, rt, tables);
  return isPerCpu(m) ? `${rt.type("PerCpu")}<${v}>` : v;
}

function definition(w: CodeBlockWriter, { probe, rt }: Emit): void {
  w.write(`const definition: ${rt.type("ObjectDefinition")} = `).inlineBlock(() => {
    w.writeLine(`name: ${JSON.stringify(probe.name)},`);
    w.writeLine(`source: ${JSON.stringify(probe.source)},`);
    w.writeLine("object: objectBytes(),");
    w.write("programs: [").newLine().indent(() => {
      for (const p of probe.programs) w.writeLine(`{ name: ${JSON.stringify(p.name)}, attach: ${objectLiteral(attachKind(p.attach).runtime(p.attach))}, line: ${p.span.line} },`);
    }).write("],").newLine();
    w.write("maps: [").newLine().indent(() => {
      for (const m of probe.maps) {
        const records = m.events.map((e) => ringRecordSize(e.layout));
        const recordSize = records.length ? `, recordSize: ${Math.max(...records)}` : "";
        w.writeLine(`{ name: ${JSON.stringify(m.name)}, type: ${JSON.stringify(m.kind)}, keySize: ${m.key ? mapTypeSize(m.key) : 0}, valueSize: ${m.value ? mapTypeSize(m.value) : 0}, maxEntries: ${m.maxEntries}${recordSize} },`);
      }
    }).write("],").newLine();
  }).write(";").newLine();
}

/** `{ kind: "tracepoint", name: "x" }`: a flat object of strings and booleans as TS. */
function objectLiteral(o: object): string {
  return `{ ${Object.entries(o).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")} }`;
}

function embeddedObject(w: CodeBlockWriter, object: Uint8Array): void {
  const base64 = Buffer.from(object).toString("base64");
  const lines = base64.match(/.{1,100}/g) ?? [];
  w.writeLine(`/** The compiled BPF object (${object.length} bytes), the same bytes as the .bpf.o beside this file. */`);
  w.write("function objectBytes(): Uint8Array ").block(() => {
    // An array joined, not a chain of '+': a big object's thousands of lines would nest too
    // deeply for parsers that recurse on binary expressions.
    w.writeLine("return Buffer.from([");
    w.indent(() => lines.forEach((l) => w.writeLine(`"${l}",`)));
    w.writeLine('].join(""), "base64");');
  });
}
