/** Running the real CLI as a subprocess, as a user would. */
import { execa, type ResultPromise } from "execa";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const bin = resolve("bin/probegen.js");
/** Each test process gets its own build cache, so tests never see a user's. */
export const cacheDir = mkdtempSync(join(tmpdir(), "probegen-cli-cache-"));

export const probegen = (args: string[], cwd = process.cwd(), env: Record<string, string> = {}) =>
  execa("node", [bin, ...args], { cwd, reject: false, env: { NO_COLOR: "1", PROBEGEN_CACHE_DIR: cacheDir, ...env } });

export function spawnProbegen(args: string[], cwd = process.cwd(), env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true; buffer: true }> {
  return execa("node", [bin, ...args], { cwd, reject: false, all: true, buffer: true, env: { NO_COLOR: "1", PROBEGEN_CACHE_DIR: cacheDir, ...env } });
}

/** Collects a stream's text and resolves when it matches (rejects after `ms`, so a broken CLI fails instead of hanging). */
export function collect(stream: NodeJS.ReadableStream): { text: () => string; until: (re: RegExp, ms?: number) => Promise<string> } {
  let text = "";
  const waiters: Array<() => void> = [];
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => text,
    until: (re, ms = 30_000) =>
      new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`waited for ${re} in:\n${text}`)), ms);
        const check = () => {
          if (re.test(text)) {
            clearTimeout(timer);
            res(text);
          } else waiters.push(check);
        };
        check();
      }),
  };
}

export async function bpfProgramIds(name: string): Promise<number[]> {
  const { stdout } = await execa("bpftool", ["prog", "list", "--json"]);
  return (JSON.parse(stdout) as Array<{ id: number; name?: string }>).filter((p) => p.name === name).map((p) => p.id);
}

/** A spec's text without the field `name` (written `- name` or `- { name: NAME, ... }`); throws when it has none. */
export function withoutField(spec: string, name: string): string {
  const line = new RegExp(`^ +- (${name}|\\{ name: ${name},.*\\})\\n`, "m");
  if (!line.test(spec)) throw new Error(`the spec has no field '${name}' to remove`);
  return spec.replace(line, "");
}
