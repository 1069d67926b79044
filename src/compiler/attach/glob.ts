/**
 * Attach patterns: `{a,b}` brace lists (expanded first, like a shell) and `*`, `?`, `[...]`
 * globs, matched against the names an attach kind can list.
 */

/** Has a wildcard: `*`, `?` or a `[...]` class. */
export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/**
 * `sched_process_{exec,exit}` -> [sched_process_exec, sched_process_exit], nested braces
 * included, in the order written; a string with no braces is itself. Throws a BraceError on an
 * unbalanced brace.
 */
export function expandBraces(text: string): string[] {
  const open = text.indexOf("{");
  if (open < 0) {
    if (text.includes("}")) throw new BraceError(`'}' without '{' in '${text}'`);
    return [text];
  }
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < text.length && close < 0; i++) {
    const c = text[i];
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) close = i;
    else if (c === "," && depth === 1) commas.push(i);
  }
  if (close < 0) throw new BraceError(`'{' without '}' in '${text}'`);
  const bounds = [open, ...commas, close];
  const head = text.slice(0, open);
  const tails = expandBraces(text.slice(close + 1));
  return bounds.slice(1).flatMap((end, i) => expandBraces(text.slice(bounds[i]! + 1, end)).flatMap((middle) => tails.map((tail) => head + middle + tail)));
}

export class BraceError extends Error {}

/**
 * A shell-style matcher: `*` any run and `?` any one character but '/' (so `syscalls/*` stays in
 * its category), `[abc]`, `[a-z]`, `[!x]` one of (not) these.
 */
export function globMatcher(glob: string): (s: string) => boolean {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  const rx = new RegExp(`^${re}$`);
  return (s) => rx.test(s);
}
