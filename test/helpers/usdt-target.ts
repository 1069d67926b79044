/** The USDT tests' program (test/fixtures/usdt), built with gcc and <sys/sdt.h>; where it lives and why it cannot be built. */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type UsdtTarget = { path: string; dir: string } | { skip: string };

/** Builds test/fixtures/usdt/{target,guarded}.c into a new directory (its path must be one probegen accepts). */
export function buildUsdtTarget(): UsdtTarget {
  const dir = mkdtempSync(join(tmpdir(), "probegen-usdt-"));
  const path = join(dir, "pgtest");
  try {
    execFileSync("gcc", ["-O2", "-o", path, "test/fixtures/usdt/target.c", "test/fixtures/usdt/guarded.c"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? e);
    return { skip: stderr.includes("sdt.h") ? "no <sys/sdt.h>: install systemtap-sdt-dev (scripts/setup.sh does)" : `gcc failed: ${stderr.trim()}` };
  }
  return { path, dir };
}

/** The Debian python3 that carries USDT notes (python:function__entry...), if installed. */
export const DEBIAN_PYTHON = "/usr/bin/python3";
