/** Terminal conventions: colour only on a TTY and never with NO_COLOR; progress on stderr. */
import { readFileSync } from "node:fs";
import { formatDiagnostic, type Diagnostic } from "../compiler/build-api.js";

export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";
}

/** Diagnostics with a code frame from the spec they point into. */
export function printDiagnostics(diagnostics: Diagnostic[], stream: NodeJS.WriteStream = process.stderr): void {
  const color = useColor(stream);
  const texts = new Map<string, string | undefined>();
  for (const d of diagnostics) {
    const file = d.span?.file;
    if (file && !texts.has(file)) {
      try {
        texts.set(file, readFileSync(file, "utf8"));
      } catch {
        texts.set(file, undefined);
      }
    }
    stream.write(formatDiagnostic(d, { color, sourceText: file ? texts.get(file) : undefined }) + "\n");
  }
}
