/** Kernel functions a kprobe can attach to, from /proc/kallsyms (text symbols). */
import { existsSync, readFileSync } from "node:fs";

/**
 * The file is ~10 MB and ~200k lines. A build asks `has()` for a few names, so the text is
 * searched for them; the set of all names (for globs and did-you-mean) is built only when asked.
 */
export class KernelSymbols {
  private functions?: Set<string>;

  private constructor(private readonly text: string) {}

  static read(path = "/proc/kallsyms"): KernelSymbols | undefined {
    if (!existsSync(path)) return undefined;
    const text = readFileSync(path, "utf8");
    const symbols = new KernelSymbols(text);
    // Without privileges every address reads as zero and we learn nothing.
    return /^[0-9a-f]*[1-9a-f][0-9a-f]* [tT] /m.test(text) ? symbols : undefined;
  }

  has(name: string): boolean {
    if (this.functions) return this.functions.has(name);
    // "ffffffff816d2230 t do_sys_openat2" (module symbols carry a "\t[module]" suffix)
    const needle = ` ${name}`;
    for (let at = this.text.indexOf(needle); at >= 0; at = this.text.indexOf(needle, at + 1)) {
      const end = at + needle.length;
      const after = this.text[end];
      const type = this.text[at - 1];
      if ((after === undefined || after === "\n" || after === "\t") && (type === "t" || type === "T") && this.text[at - 2] === " ") return true;
    }
    return false;
  }

  names(): Iterable<string> {
    if (!this.functions) {
      this.functions = new Set<string>();
      for (const line of this.text.split("\n")) {
        const parts = line.split(/\s+/);
        if (parts.length >= 3 && (parts[1] === "t" || parts[1] === "T") && parts[0] !== "0000000000000000") this.functions.add(parts[2]!);
      }
    }
    return this.functions;
  }
}
