/**
 * The only ways text from a spec (its path, file name or contents) reaches a generated file: one
 * escape per target language. Every result is printable ASCII, so no newline, U+2028/U+2029,
 * comment terminator or template delimiter can end the literal or comment it is placed in.
 */

/** A C string literal, quotes included: UTF-8 bytes outside printable ASCII as octal escapes. */
export function cStringLiteral(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    // '?' is escaped so no trigraph can form, whatever the compiler's settings.
    if (c === "\\" || c === '"' || c === "?") out += `\\${c}`;
    else if (byte >= 0x20 && byte < 0x7f) out += c;
    else out += `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return `"${out}"`;
}

/** A TypeScript string literal, quotes included: JSON's escapes plus \uXXXX for all non-ASCII. */
export function tsStringLiteral(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Text for a TS doc comment: it cannot close the comment it is written in. */
export function tsDocText(text: string): string {
  return text.replace(/\*\//g, "*\\/");
}

/**
 * A spec path in a line comment of the given language: as written when it is a plain path,
 * otherwise as that language's string literal (so a hostile file name stays one quoted line).
 */
export function pathInComment(path: string, language: "c" | "ts"): string {
  if (/^[A-Za-z0-9._/+-]+$/.test(path)) return path;
  return language === "c" ? cStringLiteral(path) : tsStringLiteral(path);
}
