/**
 * Compile the emitted C with clang into a BPF object, then drop DWARF (keeping .BTF and
 * .BTF.ext, which libbpf needs) so the object is small and the same on every machine.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DiagnosticError, error, type Diagnostic } from "./diagnostics.js";

export interface Toolchain {
  clang: string;
  strip: string;
}

export function toolchain(): Toolchain {
  return { clang: process.env.PROBEGEN_CLANG ?? "clang", strip: process.env.PROBEGEN_LLVM_STRIP ?? "llvm-strip" };
}

const targetArch: Record<string, string> = { x64: "x86", arm64: "arm64", s390x: "s390", ppc64: "powerpc", riscv64: "riscv" };

/** What clang compiles: the C text, and the spec it names in #line directives. */
export interface CompileInput {
  /** Relative path the C is known by (in #line directives and BTF line info). */
  cPath: string;
  cText: string;
  /** Relative path of the spec, and its text: BTF line info quotes spec lines from it. */
  specPath: string;
  specText: string;
}

/** The object, and the headers clang read to make it (absolute paths, from its -MD output). */
export interface CompiledObject {
  object: Uint8Array;
  headers: string[];
}

/**
 * Compiles in a scratch directory that mirrors the relative paths the C names, so the object
 * records only those relative paths (never this machine's) and the same input gives the same
 * bytes whatever the working directory or the state of the output directory.
 */
export async function compileC(input: CompileInput, tools = toolchain()): Promise<CompiledObject> {
  const scratch = await mkdtemp(join(tmpdir(), "probegen-"));
  try {
    for (const [path, text] of [[input.cPath, input.cText], [input.specPath, input.specText]] as const) {
      await mkdir(dirname(join(scratch, path)), { recursive: true });
      await writeFile(join(scratch, path), text);
    }
    const objPath = join(scratch, "out.o");
    const depsPath = join(scratch, "out.d");
    const arch = targetArch[process.arch] ?? "x86";
    const multiarch = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
    // -fwrapv: signed arithmetic wraps, as docs/spec.md says (C leaves an overflow undefined, and clang would
    // fold away a comparison it makes).
    const args = ["-g", "-O2", "-fwrapv", "-target", "bpf", `-D__TARGET_ARCH_${arch}`, `-I/usr/include/${multiarch}`,
      "-Wall", "-Werror=implicit-function-declaration", "-fno-ident", "-fdebug-compilation-dir=.", "-MD", "-MF", depsPath, "-c", input.cPath, "-o", objPath];
    const result = await run(tools.clang, args, "clang", scratch);
    if (result.exitCode !== 0) {
      const mapped = clangDiagnostics(result.stderr, input.specPath, input.cPath);
      throw new DiagnosticError(mapped.length ? mapped : [toolFailed("clang", tools.clang, result)]);
    }
    const strip = await run(tools.strip, ["-g", objPath], "llvm-strip", scratch);
    if (strip.exitCode !== 0) throw new DiagnosticError([toolFailed("llvm-strip", tools.strip, strip)]);
    return { object: new Uint8Array(await readFile(objPath)), headers: headersIn(await readFile(depsPath, "utf8")) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The absolute paths of a make rule's prerequisites (`out.o: a.c /usr/include/x.h \\`...). */
export function headersIn(rule: string): string[] {
  const words = rule.replace(/\\\n/g, " ").replace(/^[^:]*:/, "").split(/\s+/);
  return [...new Set(words.filter((w) => w.startsWith("/")))].sort();
}

type Tool = "clang" | "llvm-strip";

/** Where each tool comes from: its Debian package, and the variable that names another binary. */
const toolSources: Record<Tool, { debianPackage: string; variable: string }> = {
  clang: { debianPackage: "clang", variable: "PROBEGEN_CLANG" },
  "llvm-strip": { debianPackage: "llvm", variable: "PROBEGEN_LLVM_STRIP" },
};

async function run(file: string, args: string[], tool: Tool, cwd: string) {
  const { execa } = await import("execa"); // a check never compiles: it need not load execa
  const result = await execa(file, args, { reject: false, stdin: "ignore", cwd });
  if (result.exitCode === undefined && result.signal === undefined) {
    // It never started: execa reports the spawn error's code (ENOENT, EACCES) here.
    const { debianPackage, variable } = toolSources[tool];
    const missing = result.code === "ENOENT";
    const message = missing
      ? `${tool} was not found ('${file}' ${file.includes("/") ? "does not exist" : "is not in PATH"})`
      : `${tool} could not be started ('${file}': ${result.code ?? result.shortMessage})`;
    throw new DiagnosticError([error("toolchain", message, undefined,
      `install it: apt-get install -y ${debianPackage} (or set ${variable} to the path of the ${tool} to use)`)]);
  }
  return result;
}

/** A tool that failed without a diagnostic probegen can place: its exit status and what it printed. */
function toolFailed(tool: Tool, file: string, result: { exitCode?: number; signal?: string; stderr: string }): Diagnostic {
  const status = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
  const stderr = result.stderr.trim();
  return error("toolchain", `${tool} ${status}${stderr ? `: ${stderr.split("\n").slice(0, 5).join(" / ")}` : " and printed nothing"}`, undefined,
    `check that '${file} --version' works, or set ${toolSources[tool].variable} to a working ${tool}`);
}

const clangLine = /^(.+?):(\d+):(\d+): (error|warning|fatal error): (.*)$/;

/**
 * clang's errors, mapped back: a location in the spec (via #line) is the user's to fix; a
 * location in the generated C is a probegen bug, and says so. Empty when clang printed none.
 */
export function clangDiagnostics(stderr: string, specFile: string, cFile: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const line of stderr.split("\n")) {
    const m = clangLine.exec(line);
    if (!m || m[4] === "warning") continue;
    const [, file, l, c, , message] = m;
    const span = { file: file!, line: Number(l), column: Number(c) };
    if (file === specFile) out.push(error("clang", message!, span, "the C generated for this line did not compile; check the types of the values it uses"));
    else out.push(error("internal", `generated C did not compile at ${file}:${l}:${c}: ${message}`, { file: specFile, line: 1, column: 1 },
      `this is a probegen bug; please report it with ${specFile} and ${cFile}`));
  }
  return out;
}
