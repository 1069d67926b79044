/** Identifier rules shared by both emitters: C safety and TS naming conventions. */

const cKeywords = new Set(
  ("auto break case char const continue default do double else enum extern float for goto if inline int long register " +
    "restrict return short signed sizeof static struct switch typedef union unsigned void volatile while _Bool _Complex " +
    "_Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local asm typeof bool true false NULL " +
    "LICENSE SEC ctx").split(" "),
);

/** Why `name` cannot be used as a C identifier we emit, or undefined when it can. */
export function cIdentifierProblem(name: string): string | undefined {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) return "names are lower_snake_case and start with a letter";
  if (cKeywords.has(name)) return `'${name}' is reserved in C`;
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
