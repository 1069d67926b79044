// Loads a generated loader (plain JS) with no options, then closes it: prints
// {"programs": N, "loadAttachMs": ..., "detachMs": ...} as one JSON line (bench/run.mjs "attach").
const [loaderPath] = process.argv.slice(2);
const mod = await import(loaderPath);
const load = Object.entries(mod).find(([name, value]) => name.startsWith("load") && typeof value === "function")[1];
const start = performance.now();
const probe = await load();
const loadAttachMs = performance.now() - start;
const programs = probe.object.programInfo().length;
const closing = performance.now();
probe.close();
process.stdout.write(JSON.stringify({ programs, loadAttachMs, detachMs: performance.now() - closing }) + "\n");
