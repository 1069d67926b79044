// Helpers for bench/run.mjs: child processes that are always cleaned up, commands, stats, bpftool.
import { spawn, execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";

/** Every child we start, so exit/SIGINT can end them (they hold the attached programs). */
const children = new Set();
const exitHooks = [];

export function onCleanup(fn) {
  exitHooks.push(fn);
}

function cleanup() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
  children.clear();
  while (exitHooks.length) {
    try {
      exitHooks.pop()();
    } catch {}
  }
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    cleanup();
    process.exit(130);
  });
}

/** Runs a command to completion (bounded by timeoutMs); returns { code, stdout, stderr, ms }. */
export function run(cmd, args, { timeoutMs = 600_000, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: env ? { ...process.env, ...env } : process.env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1), signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Runs a command that must succeed; returns stdout. */
export async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim().slice(-2000)}`);
  return r.stdout;
}

/**
 * Starts a long-running consumer that prints a line starting with `ready` once attached, and on
 * SIGTERM prints a final JSON line. Returns { ready: parsed JSON after "ready", stop(): final JSON }.
 */
export async function startConsumer(cmd, args, { env, readyTimeoutMs = 30_000 } = {}) {
  const child = spawn(cmd, args, { env: env ? { ...process.env, ...env } : process.env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const closed = new Promise((resolve) => child.on("close", (code) => { children.delete(child); resolve(code); }));
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd}: not ready after ${readyTimeoutMs} ms: ${stderr.trim()}`)), readyTimeoutMs);
    child.stdout.on("data", (d) => {
      stdout += d;
      const m = /^ready(.*)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].trim() ? JSON.parse(m[1]) : {});
      }
    });
    closed.then((code) => { clearTimeout(timer); reject(new Error(`${cmd} exited (${code}) before ready: ${stderr.trim().slice(-2000)}`)); });
  });
  return {
    ready,
    child,
    async stop(timeoutMs = 30_000) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await closed;
      clearTimeout(timer);
      const last = stdout.trim().split("\n").pop();
      try {
        return JSON.parse(last);
      } catch {
        throw new Error(`${cmd} exited (${code}) without a result: ${stderr.trim().slice(-2000)}`);
      }
    },
    kill() {
      child.kill("SIGKILL");
      return closed;
    },
  };
}

export function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export function sh(cmdline) {
  try {
    return execFileSync("sh", ["-c", cmdline], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

/** bpftool prog show --json, as a Map id -> info. */
export async function progs(ids) {
  const out = JSON.parse(await must("bpftool", ["prog", "show", "--json"]));
  const byId = new Map(out.map((p) => [p.id, p]));
  return ids ? ids.map((id) => byId.get(id)).filter(Boolean) : out;
}

/** The pg_drops counter (map ".data.pg_drops") of the object the given programs belong to; undefined without one. */
export async function dropsOf(progIds) {
  const [prog] = await progs(progIds);
  const maps = JSON.parse(await must("bpftool", ["map", "show", "--json"]));
  const map = maps.find((m) => m.name === ".data.pg_drops" && (prog?.map_ids ?? []).includes(m.id));
  if (!map) return undefined;
  const [entry] = JSON.parse(await must("bpftool", ["map", "dump", "id", String(map.id), "--json"]));
  const bytes = Array.isArray(entry?.value) ? entry.value.slice(0, 8) : [];
  return bytes.reduce((n, b, i) => n + parseInt(b, 16) * 2 ** (8 * i), 0);
}

/** kernel.bpf_stats_enabled on for the run, restored afterwards (also on SIGINT). */
export function enableBpfStats() {
  const path = "/proc/sys/kernel/bpf_stats_enabled";
  if (!existsSync(path)) return false;
  const before = readFileSync(path, "utf8").trim();
  writeFileSync(path, "1");
  onCleanup(() => writeFileSync(path, before));
  return true;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
