/**
 * `probegen build --watch SPEC...`: build, then rebuild a spec each time it is saved and show its
 * diagnostics. Directories are watched rather than files, because editors often save by writing
 * a new file and renaming it over the old one. Unchanged specs come from the build cache.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { BuildCache } from "../compiler/build-api.js";
import { buildCommand, type BuildFlags } from "./build-command.js";
import { ExitCode } from "./exit-codes.js";

export async function watchCommand(specs: string[], flags: BuildFlags): Promise<number> {
  const cache = flags.cache === false ? undefined : new BuildCache();
  const buildFlags: BuildFlags = { ...flags, cache: cache ?? false };
  const stamp = () => new Date().toTimeString().slice(0, 8);
  await buildCommand(specs, buildFlags);
  const byPath = new Map(specs.map((s) => [resolve(s), s]));
  const last = new Map<string, string | undefined>();
  for (const [abs] of byPath) last.set(abs, await readFile(abs, "utf8").catch(() => undefined));

  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const flush = () => {
    const batch = [...pending];
    pending.clear();
    running = running.then(async () => {
      const changed: string[] = [];
      for (const abs of batch) {
        const text = await readFile(abs, "utf8").catch(() => undefined);
        if (text === last.get(abs)) continue; // touched, not changed
        last.set(abs, text);
        changed.push(byPath.get(abs)!);
      }
      if (changed.length === 0) return;
      process.stderr.write(`\n[${stamp()}] ${changed.join(", ")} changed\n`);
      await buildCommand(changed, buildFlags);
    });
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set([...byPath.keys()].map((p) => dirname(p)))) {
    watchers.push(watch(dir, (_event, file) => {
      if (!file) return;
      const abs = resolve(dir, file.toString());
      if (!byPath.has(abs)) return;
      pending.add(abs);
      clearTimeout(timer);
      timer = setTimeout(flush, 100); // editors write in bursts
    }));
  }
  process.stderr.write(`[${stamp()}] watching ${specs.length} spec${specs.length === 1 ? "" : "s"} (${specs.map((s) => basename(s)).join(", ")}); Ctrl-C to stop\n`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  for (const w of watchers) w.close();
  clearTimeout(timer);
  await running;
  return ExitCode.Ok;
}
