/** Identifier rules shared by both emitters: C safety and TS naming conventions. */

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
