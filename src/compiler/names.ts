/**
 * Names: every identifier the generated C and TS declare is made here, once, from the spec's
 * checked names; the IR carries the results and the emitters print them as they are.
 *
 * Generated names are collision-free by construction: each kind of C struct has its own prefix
 * (pg_event_, pg_map_, pg_stash_, pg_ctx_) and user names cannot start with pg_. Where two spec
 * names become one identifier anyway (camelCase folds `a_1` and `a1`), checkNames reports both.
 */
import type { SourceSpan } from "./diagnostics.js";
import type { ResolvedProbe } from "./ir.js";

const cKeywords = new Set(
  ("auto break case char const continue default do double else enum extern float for goto if inline int long register " +
    "restrict return short signed sizeof static struct switch typedef union unsigned void volatile while _Bool _Complex " +
    "_Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local asm typeof bool true false NULL " +
    "LICENSE SEC ctx").split(" "),
);

/** Lower-case macros of the headers the emitted C includes (bpf_helpers.h, bpf_core_read.h...). */
const headerMacros = new Set(["barrier", "barrier_var", "container_of", "offsetof", "likely", "unlikely"]);

/**
 * The C library functions clang knows as builtins: a global of the same name is "a redefinition
 * as a different kind of symbol". Math functions come in three precisions (sqrt, sqrtf, sqrtl).
 */
const libraryBuiltins = new Set([
  ..."abort abs atexit calloc exit _exit labs llabs malloc realloc free strtod strtof strtol strtoll strtoul strtoull alloca main".split(" "),
  ..."printf fprintf snprintf sprintf vprintf vfprintf vsnprintf vsprintf scanf fscanf sscanf vscanf vfscanf vsscanf fopen fread fwrite fputc fputs putchar puts getchar".split(" "),
  ..."memcpy memcmp memmove memset memchr mempcpy strcpy strncpy strcmp strncmp strcat strncat strxfrm strchr strcspn strpbrk strrchr strspn strstr strtok strerror strlen strnlen strdup strndup stpcpy stpncpy index rindex bzero bcmp bcopy".split(" "),
  ..."setjmp longjmp siglongjmp sigsetjmp savectx vfork fork".split(" "),
  ..."isalnum isalpha isblank iscntrl isdigit isgraph islower isprint ispunct isspace isupper isxdigit tolower toupper".split(" "),
  ...("acos acosh asin asinh atan atan2 atanh cbrt ceil copysign cos cosh erf erfc exp exp2 expm1 fabs fdim floor fma fmax fmin fmod frexp hypot " +
    "ilogb ldexp lgamma llrint llround log log10 log1p log2 logb lrint lround modf nan nearbyint nextafter nexttoward pow remainder remquo rint " +
    "round scalbln scalbn sin sinh sqrt tan tanh tgamma trunc").split(" ").flatMap((f) => [f, `${f}f`, `${f}l`]),
]);

/** Names the generated C itself defines: locals of the program bodies and the object's sections. */
const generatedNames = new Set(["e", "st", "license", "version", "maps", "xdp"]);

/** Kernel integer typedefs the emitted kernel types may declare (the `_t` suffix is refused as a whole). */
const kernelTypedefs = new Set(["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "u128", "s128"]);

/** Why `name` cannot be used as a C identifier we emit, or undefined when it can. */
export function cIdentifierProblem(name: string): string | undefined {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) return "names are lower_snake_case and start with a letter";
  if (cKeywords.has(name)) return `'${name}' is reserved in C`;
  if (generatedNames.has(name)) return `'${name}' is a name the generated C uses`;
  if (headerMacros.has(name)) return `'${name}' is a macro of the BPF headers the generated C includes`;
  if (libraryBuiltins.has(name)) return `'${name}' is a C library function that clang treats as a builtin`;
  if (kernelTypedefs.has(name) || name.endsWith("_t")) return `'${name}' is (or could be) a type name in the kernel's headers`;
  if (name.startsWith("pg_") || name.startsWith("bpf_") || name.startsWith("__")) return "names starting with pg_, bpf_ or __ are reserved for generated code";
  return undefined;
}

export function camelCase(snake: string): string {
  return snake.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function pascalCase(snake: string): string {
  const camel = camelCase(snake);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}

/** Identifiers of the generated C, from checked snake_case names. */
export const cNames = {
  event: (event: string) => `pg_event_${event}`,
  /** `pg_map_`: a map named `event_a` must not take the struct of an event named `a_key`. */
  mapStruct: (map: string, role: "key" | "value") => `pg_map_${map}_${role}`,
  histogram: (map: string) => cNames.mapStruct(map, "value"),
  /** The record an entry leaves for its exit, and the maps that hold it (whole: a cut name can be another's). */
  stash: (program: string) => `pg_stash_${program}`,
  stashMap: (program: string) => `pg_stash_${program}`,
  scratchMap: (program: string) => `pg_scratch_${program}`,
  /** The per-CPU array a map's key or value is built in when too big for the stack. */
  buildBuffer: (map: string, role: "key" | "value") => `pg_${role}buf_${map}`,
  tracepointContext: (category: string, name: string) => `pg_ctx_${category}__${name}`,
  /** Event members beside a list of strings: how many it holds, and whether the list went on. */
  listCount: (field: string) => `pg_n_${field}`,
  listMore: (field: string) => `pg_more_${field}`,
  /** A program's default name from its attach point's (e.g. `do_sys_openat2_ret`), made a C identifier. */
  program(stem: string): string {
    const base = stem.toLowerCase().replace(/[^a-z0-9_]/g, "_");
    return cIdentifierProblem(base) ? `prog_${base.replace(/^_+/, "")}` : base;
  },
  /** The exit program of a pair named `entry`. */
  exitProgram: (entry: string) => `${entry}_exit`,
};

/** `base`, or `base_2`, `base_3`... the first one not in `used` (which then holds it). */
export function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
  used.add(name);
  return name;
}

/** The identifiers a probe's loader exports. */
export interface ProbeTsNames {
  loader: string;
  probe: string;
  /** Every event of the default 'events' ring buffer. */
  event: string;
  maps: string;
  params: string;
  mapSizes: string;
  loadOptions: string;
}

/**
 * `eventTypes`: the interfaces of the probe's events. A ring's union is `${Probe}Event`, unless an
 * event has that name (an event named like the probe): then `${Probe}Events`, a name no event
 * interface can have (they end in "Event").
 */
export function probeTsNames(probe: string, eventTypes: ReadonlySet<string>): ProbeTsNames {
  const p = pascalCase(probe);
  return { loader: `load${p}`, probe: `${p}Probe`, event: unionName(`${p}Event`, eventTypes), maps: `${p}Maps`, params: `${p}Params`, mapSizes: `${p}MapSizes`, loadOptions: `${p}LoadOptions` };
}

function unionName(singular: string, eventTypes: ReadonlySet<string>): string {
  return eventTypes.has(singular) ? `${singular}s` : singular;
}

/** The identifiers the loader declares for one map (its property is `tsNames.property`). */
export interface MapTsNames {
  /** A ring buffer's: the union of its events, and the function that decodes a record. */
  eventType: string;
  decoder: string;
  /** A typed map's codecs (`oneCpuCodec`: one CPU's value of a per-CPU map). */
  keyCodec: string;
  valueCodec: string;
  oneCpuCodec: string;
}

export function mapTsNames(probe: string, map: string, eventTypes: ReadonlySet<string>): MapTsNames {
  const property = camelCase(map);
  const eventType = map === "events" ? probeTsNames(probe, eventTypes).event : unionName(`${pascalCase(probe)}${pascalCase(map)}Event`, eventTypes);
  return {
    eventType, decoder: `decode${eventType}`,
    keyCodec: `${property}KeyCodec`, valueCodec: `${property}ValueCodec`, oneCpuCodec: `${property}ValueCodecOneCpu`,
  };
}

/** TS names of things the spec names: properties (fields, params, members), event and struct interfaces. */
export const tsNames = {
  property: camelCase,
  event: (event: string) => `${pascalCase(event)}Event`,
  mapStruct: (map: string, role: "key" | "value") => pascalCase(`${map}_${role}`),
  /** The event property beside a list of strings that says it was cut (argv -> argvTruncated). */
  listTruncated: (property: string) => `${property}Truncated`,
};

/** Where an identifier came from: "field 'a_1'" at its place in the spec, or probegen's own name (no place). */
interface NameOrigin {
  what: string;
  span?: SourceSpan;
}

export type NameCollisionReport = (message: string, span: SourceSpan, hint: string) => void;

/** Properties every JavaScript object inherits: a param `constructor` would read Object, a field `to_string` hide toString. */
const inheritedProperties: Array<[string, string]> = Object.getOwnPropertyNames(Object.prototype)
  .map((p) => [p, `a property every JavaScript object inherits (${p})`]);

/** Names the loader declares for itself, whatever the spec (the runtime's imports are aliased when a probe takes one). */
const loaderOwnNames: Array<[string, string]> = ["encodeParams", "definition", "objectBytes"].map((n) => [n, `a function of the loader (${n})`]);

/**
 * Checks that no two spec names become one identifier of the generated files, and that none
 * becomes one the generated code gives a meaning of its own: properties of one TS object (the
 * params, the maps, one event's or one struct's members), the loader's declarations, C struct
 * tags and globals. Each collision is reported once, at the second name, naming the first.
 */
export function checkNames(probe: ResolvedProbe, probeSpan: SourceSpan, report: NameCollisionReport): void {
  const reported = new Set<string>();
  const namespace = (language: "C" | "TypeScript", fixed: Array<[string, string]> = []) => {
    const owners = new Map<string, NameOrigin>(fixed.map(([id, what]) => [id, { what }]));
    return (id: string, what: string, span: SourceSpan): void => {
      const first = owners.get(id);
      if (!first) return void owners.set(id, { what, span });
      // One spec name used twice (two events 'x') is the duplicate check's to report, where it is made.
      const pair = `${first.what}\n${what}`;
      if (first.what === what || reported.has(pair)) return;
      reported.add(pair);
      if (!first.span) report(`${what} becomes '${id}' in ${language}, which is ${first.what}`, span, `rename the ${what.split(" ")[0]}`);
      else report(`${what} and ${first.what} both become '${id}' in ${language}`, span, `rename one of them (the other is at line ${first.span.line})`);
    };
  };

  const params = namespace("TypeScript", inheritedProperties);
  for (const p of probe.params) params(p.tsName, `parameter '${p.name}'`, p.span);
  const maps = namespace("TypeScript", inheritedProperties);
  for (const m of probe.maps) maps(m.tsName, `map '${m.name}'`, m.span);

  for (const ring of probe.maps) {
    const tag: Array<[string, string]> = ring.events.length > 1 ? [["type", `the tag that tells apart the events of ring '${ring.name}'`]] : [];
    for (const e of ring.events) {
      const fields = namespace("TypeScript", [...inheritedProperties, ...tag]);
      for (const f of e.fields) {
        fields(f.tsName, `field '${f.name}'`, f.nameSpan);
        if (f.type.kind === "string_list") fields(tsNames.listTruncated(f.tsName), `field '${f.name}' (its ${tsNames.listTruncated(f.tsName)} flag)`, f.nameSpan);
      }
    }
  }
  const structs = probe.maps.flatMap((m) => [m.key, m.value].flatMap((t) => (t?.kind === "struct" ? [{ map: m, struct: t.struct }] : [])));
  for (const { struct } of structs) {
    const members = namespace("TypeScript", inheritedProperties);
    for (const x of struct.members) members(x.tsName, `member '${x.name}'`, x.span);
  }

  const module = namespace("TypeScript", loaderOwnNames);
  // The union of the 'events' ring is the ring's (below).
  for (const [role, id] of Object.entries(probe.ts)) if (role !== "event") module(id, `probe '${probe.name}'`, probeSpan);
  for (const e of probe.events) module(e.tsName, `event '${e.name}'`, e.span);
  for (const m of probe.maps) for (const id of Object.values(m.ts ?? {})) module(id, `map '${m.name}'`, m.span);
  for (const { map, struct } of structs) module(struct.tsName, `map '${map.name}'`, map.span);

  const tags = namespace("C", [["pg_params", "the parameters' struct (pg_params)"]]);
  for (const e of probe.events) tags(e.cName, `event '${e.name}'`, e.span);
  for (const { map, struct } of structs) tags(struct.cName, `map '${map.name}'`, map.span);
  const globals = namespace("C");
  for (const m of probe.maps) globals(m.name, `map '${m.name}'`, m.span);
  for (const p of probe.programs) {
    globals(p.name, `program '${p.name}'`, p.span);
    if (!p.exit) continue;
    globals(p.exit.name, `program '${p.name}'`, p.span);
    tags(cNames.stash(p.name), `program '${p.name}'`, p.span);
    globals(cNames.stashMap(p.name), `program '${p.name}'`, p.span);
    globals(cNames.scratchMap(p.name), `program '${p.name}'`, p.span);
  }
}
