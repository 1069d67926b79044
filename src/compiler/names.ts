/**
 * Names: every identifier the generated C and TS declare is made here, once, from the spec's
 * checked names; the IR carries the results and the emitters print them as they are.
 */

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
const generatedNames = new Set(["e", "st", "license", "version", "maps"]);

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
  mapStruct: (map: string, role: "key" | "value") => `pg_${map}_${role}`,
  histogram: (map: string) => `pg_${map}_value`,
  /** The record an entry leaves for its exit, and the maps that hold it. */
  stash: (program: string) => `pg_stash_${program}`,
  stashMap: (program: string) => `pg_stash_${program}`.slice(0, 40),
  scratchMap: (program: string) => `pg_scratch_${program}`.slice(0, 40),
  /** The per-CPU array a map's key or value is built in when too big for the stack. */
  buildBuffer: (map: string, role: "key" | "value") => `pg_${role}buf_${map}`,
  tracepointContext: (category: string, name: string) => `pg_ctx_${category}__${name}`,
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

export function probeTsNames(probe: string): ProbeTsNames {
  const p = pascalCase(probe);
  return { loader: `load${p}`, probe: `${p}Probe`, event: `${p}Event`, maps: `${p}Maps`, params: `${p}Params`, mapSizes: `${p}MapSizes`, loadOptions: `${p}LoadOptions` };
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

export function mapTsNames(probe: string, map: string): MapTsNames {
  const property = camelCase(map);
  const eventType = map === "events" ? probeTsNames(probe).event : `${pascalCase(probe)}${pascalCase(map)}Event`;
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
};
