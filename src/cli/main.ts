/** The probegen command line: parses arguments and dispatches to one command module each. */
import { parseArgs } from "node:util";
import { version } from "../compiler/package-info.js";
import { buildCommand } from "./build-command.js";
import { ExitCode } from "./exit-codes.js";

const usage = `probegen ${version}: declarative YAML probe specs to eBPF programs and typed TypeScript loaders

Usage:
  probegen build [options] SPEC...   validate, compile and write generated/NAME.{bpf.c,bpf.o,ts}
  probegen help                      show this help

build options:
  -o, --out-dir DIR        where generated files go (default: generated)
      --check              write nothing; exit ${ExitCode.Stale} and name the stale files when the
                           output directory differs from what would be built now
      --json               print results and diagnostics as JSON on stdout
      --runtime-import M   module the loaders import the runtime from (default: probegen/runtime)

  -h, --help               show this help
  -v, --version            print the version

Exit codes: 0 ok, 1 errors in a spec, 2 bad command line, 3 stale generated files, 70 internal error.
Colours only on a terminal, and never with NO_COLOR set.`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        "out-dir": { type: "string", short: "o", default: "generated" },
        check: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        "runtime-import": { type: "string" },
      },
    });
  } catch (e) {
    process.stderr.write(`probegen: ${(e as Error).message}\nRun 'probegen --help' for usage.\n`);
    return ExitCode.Usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return ExitCode.Ok;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(usage + "\n");
    return command === undefined && !values.help ? ExitCode.Usage : ExitCode.Ok;
  }
  try {
    switch (command) {
      case "build":
        if (rest.length === 0) {
          process.stderr.write("probegen build: name at least one spec, e.g. probegen build probes/*.yaml\n");
          return ExitCode.Usage;
        }
        return await buildCommand(rest, { check: values.check!, outDir: values["out-dir"]!, json: values.json!, runtimeImport: values["runtime-import"] });
      default:
        process.stderr.write(`probegen: unknown command '${command}'. Run 'probegen --help' for the commands.\n`);
        return ExitCode.Usage;
    }
  } catch (e) {
    process.stderr.write(`probegen: internal error: ${(e as Error).stack ?? String(e)}\nThis is a bug in probegen; please report it.\n`);
    return ExitCode.Internal;
  }
}
