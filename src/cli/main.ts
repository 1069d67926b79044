/**
 * The probegen command line: finds the command, parses its options, and runs it. Command
 * modules are imported only when their command runs, so `probegen --help` or `probegen list`
 * never load ts-morph or the native addon.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { version } from "../compiler/package-info.js"; // the version alone: --help loads nothing else
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  /** One line for the command list. */
  synopsis: string;
  help: string;
  options: Options;
  run(values: Values, positionals: string[]): Promise<number>;
}

const common = `  -h, --help               show this help`;

const commands: Record<string, Command> = {
  build: {
    synopsis: "build [options] SPEC...    validate, compile and write generated/NAME.{bpf.c,bpf.o,ts}",
    help: `Usage: probegen build [options] SPEC...

Validates each spec, checks it against the running kernel, compiles it with clang and writes
OUT/NAME.bpf.c, OUT/NAME.bpf.o and OUT/NAME.ts. A spec whose inputs did not change since the
last build comes from the build cache (clang does not run).

Options:
  -o, --out-dir DIR        where generated files go (default: generated)
      --check              write nothing; exit ${ExitCode.Stale} and name the stale files when the
                           output directory differs from what would be built now
      --json               print results and diagnostics as JSON on stdout
      --runtime-import M   module the loaders import the runtime from (default: @probegen/runtime)
      --btf FILE           build against another kernel's types (a vmlinux BTF file, or an ELF
                           with a .BTF section) instead of /sys/kernel/btf/vmlinux
  -w, --watch              rebuild a spec whenever it changes, showing its diagnostics (Ctrl-C ends)
      --no-cache           compile every spec, neither reading nor writing the build cache
${common}`,
    options: {
      "out-dir": { type: "string", short: "o", default: "generated" },
      check: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "runtime-import": { type: "string" },
      btf: { type: "string" },
      watch: { type: "boolean", short: "w", default: false },
      "no-cache": { type: "boolean", default: false },
    },
    async run(v, specs) {
      if (specs.length === 0) throw new CliError("probegen build: name at least one spec, e.g. probegen build probes/*.yaml");
      const flags = { check: v.check as boolean, outDir: v["out-dir"] as string, json: v.json as boolean,
        runtimeImport: v["runtime-import"] as string | undefined, cache: !v["no-cache"], btf: v.btf as string | undefined };
      if (v.watch) {
        if (flags.check || flags.json) throw new CliError("probegen build: --watch cannot be combined with --check or --json");
        return (await import("./watch.js")).watchCommand(specs, flags);
      }
      return (await import("./build-command.js")).buildCommand(specs, flags);
    },
  },
  check: {
    synopsis: "check [--json] SPEC...     validate and type-check specs against the kernel (no clang)",
    help: `Usage: probegen check [--json] SPEC...

Validates each spec against the schema and resolves it against the running kernel (attach
points, field names and types, filters), without compiling or writing anything. Every problem
is printed at its file:line:column, with a code frame on a terminal. Exit ${ExitCode.SpecError} when any spec
has an error.

Options:
      --json               print [{ spec, ok, diagnostics }] on stdout, for editors and CI
      --btf FILE           check against another kernel's types (see build --help)
${common}`,
    options: { json: { type: "boolean", default: false }, btf: { type: "string" } },
    async run(v, specs) {
      if (specs.length === 0) throw new CliError("probegen check: name at least one spec, e.g. probegen check probes/*.yaml");
      return (await import("./check-command.js")).checkCommand(specs, { json: v.json as boolean, btf: v.btf as string | undefined });
    },
  },
  run: {
    synopsis: "run [options] SPEC         build into a temporary directory, load, and print events",
    help: `Usage: probegen run [options] SPEC

Builds the spec in a temporary directory (nothing is written to generated/), loads and attaches
it, and prints its events as a table, or as JSON lines. On Ctrl-C, or when --duration is over,
it detaches and prints the probe's maps and drop counts.

Options:
      --param NAME=VALUE   set a parameter the spec declares (repeatable)
  -d, --duration TIME      stop after TIME (e.g. 500ms, 10s, 2m; default: until Ctrl-C)
  -i, --interval TIME      also print the maps every TIME (e.g. 1s, 500ms), under a time header
      --clear              empty the maps after each --interval print (counts per interval)
      --top N              only the N largest entries of each map, largest first
      --json               one JSON object per event on stdout (64-bit values beyond 2^53 as strings),
                           one {"time": ..., "maps": ...} object per interval, then one {"maps": ...}
      --interface NAME     the network interface xdp and tc programs attach to (probegen list interfaces)
      --cgroup PATH        the cgroup v2 directory cgroup_skb programs attach to: absolute, or
                           relative to the cgroup2 mount (probegen list cgroups)
      --allow-drop         attach programs whose actions drop traffic (refused otherwise, exit ${ExitCode.Usage})
      --pid N              uprobes and uretprobes fire for process N alone (default: every process)
      --metrics HOST:PORT  serve the spec's metric maps for Prometheus at http://HOST:PORT/metrics
                           while the probe runs (:9464: every address, port 9464)
      --folded FILE        at the end, write the maps counted by stacks (kstack, ustack) as folded
                           stacks (flamegraph.pl, inferno, speedscope)
      --flamegraph FILE    at the end, write them as an interactive SVG flame graph
${common}`,
    options: {
      param: { type: "string", multiple: true, default: [] },
      interface: { type: "string" },
      "allow-drop": { type: "boolean", default: false },
      duration: { type: "string", short: "d" },
      interval: { type: "string", short: "i" },
      clear: { type: "boolean", default: false },
      top: { type: "string" },
      cgroup: { type: "string" },
      pid: { type: "string" },
      json: { type: "boolean", default: false },
      metrics: { type: "string" },
      folded: { type: "string" },
      flamegraph: { type: "string" },
    },
    async run(v, specs) {
      if (specs.length !== 1) throw new CliError("probegen run: name exactly one spec, e.g. probegen run probes/opensnoop.yaml");
      return (await import("./run-command.js")).runCommand(specs[0]!, {
        params: v.param as string[], duration: v.duration as string | undefined, json: v.json as boolean,
        interval: v.interval as string | undefined, clear: v.clear as boolean, top: v.top as string | undefined,
        interface: v.interface as string | undefined, cgroup: v.cgroup as string | undefined, allowDrop: v["allow-drop"] as boolean,
        metrics: v.metrics as string | undefined,
        pid: v.pid as string | undefined,
        folded: v.folded as string | undefined, flamegraph: v.flamegraph as string | undefined,
      });
    },
  },
  list: {
    synopsis: "list KIND [PATTERN]        list the kernel's tracepoints, kprobes, fentry functions or interfaces",
    help: `Usage: probegen list tracepoints|kprobes|fentry [PATTERN]
       probegen list tracepoint|kprobe|fentry NAME
       probegen list ATTACH-PATTERN
       probegen list interfaces [PATTERN]
       probegen list cgroups [PATTERN]

Lists the attach points the running kernel offers, optionally only those matching a glob
PATTERN (* ? [..]; 'syscalls:sys_enter_open*' and 'syscalls/sys_enter_open*' both work).
Given a spec's attach pattern ('tracepoint/syscalls/sys_enter_*',
'tracepoint/sched/sched_process_{exec,exit}'), lists what it matches: the programs a spec
with that 'attach:' gets; 'usdt/PATH:*' lists the USDT probes of a file.
'cgroups' lists the cgroup v2 directories (relative to its mount) cgroup_skb programs attach to.
Given one exact attach point, prints its arguments: their C types and the probegen types they
are captured as (like bpftrace -lv). 'list interfaces' prints the network interfaces xdp and tc
programs attach to (run --interface NAME).

Options:
      --json               print the list (or the arguments) as JSON
${common}`,
    options: { json: { type: "boolean", default: false } },
    async run(v, args) {
      if (args.length < 1 || args.length > 2) throw new CliError("probegen list: say what to list: tracepoints, kprobes or fentry (and optionally a pattern)");
      return (await import("./list-command.js")).listCommand(args[0]!, args[1], { json: v.json as boolean });
    },
  },
  init: {
    synopsis: "init NAME --attach POINT   write a starter spec probes/NAME.yaml",
    help: `Usage: probegen init NAME --attach POINT [-o FILE] [--force]

Writes probes/NAME.yaml: the schema line, one program on POINT capturing a few useful values,
and every value the attach point offers listed as a comment. POINT is e.g.
tracepoint/syscalls/sys_enter_openat, kprobe/do_sys_openat2, kretprobe/do_sys_openat2, or xdp
(packets and bytes by IP protocol on an interface).

Options:
  -a, --attach POINT       where the program attaches (required)
  -o, --output FILE        where to write (default: probes/NAME.yaml)
  -f, --force              overwrite an existing file
${common}`,
    options: {
      attach: { type: "string", short: "a" },
      output: { type: "string", short: "o" },
      force: { type: "boolean", short: "f", default: false },
    },
    async run(v, args) {
      if (args.length !== 1) throw new CliError("probegen init: name the probe, e.g. probegen init myopens --attach tracepoint/syscalls/sys_enter_openat");
      if (!v.attach) throw new CliError("probegen init: --attach is required, e.g. --attach tracepoint/syscalls/sys_enter_openat");
      return (await import("./init-command.js")).initCommand(args[0]!, { attach: v.attach as string, output: v.output as string | undefined, force: v.force as boolean });
    },
  },
  stats: {
    synopsis: "stats [options] [NAME...]  run counts, run time, sizes and drops of loaded BPF programs",
    help: `Usage: probegen stats [options] [NAME...]

For every BPF program loaded on the system (or those whose name, or whose probe's name,
matches a NAME glob): run count and run time over an interval, instructions (xlated) and
JIT-ed bytes, memory of its maps, and for probegen programs the ring buffer reserve failures
counted in their pg_drops counter (map .data.pg_drops). The kernel's BPF statistics
(kernel.bpf_stats_enabled) are switched on only for the interval and restored afterwards.
Needs root.

Options:
  -i, --interval TIME      how long to count runs (default: 1s; 0 reads the counters as they are)
      --probegen           only programs made by probegen (those with a .data.pg_drops map)
      --json               print the table as JSON
${common}`,
    options: {
      interval: { type: "string", short: "i", default: "1s" },
      probegen: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    async run(v, names) {
      return (await import("./stats-command.js")).statsCommand(names, {
        interval: v.interval as string, probegenOnly: v.probegen as boolean, json: v.json as boolean,
      });
    },
  },
};

function mainUsage(): string {
  return `probegen ${version}: declarative YAML probe specs to eBPF programs and typed TypeScript loaders

Usage:
${Object.values(commands).map((c) => `  probegen ${c.synopsis}`).join("\n")}
  probegen help [COMMAND]             show help (of one command)

Run 'probegen COMMAND --help' for a command's options.

  -h, --help               show this help
  -v, --version            print the version

Exit codes: ${ExitCode.Ok} ok, ${ExitCode.SpecError} errors in a spec, ${ExitCode.Usage} bad command line, ${ExitCode.Stale} stale generated files,
${ExitCode.Kernel} the kernel refused (load, attach, permissions), ${ExitCode.Internal} internal error.
Colours only on a terminal, and never with NO_COLOR set.`;
}

export async function main(argv: string[]): Promise<number> {
  const first = argv.findIndex((a) => !a.startsWith("-"));
  const name = first < 0 ? undefined : argv[first];
  const command = name !== undefined ? commands[name] : undefined;
  if (!command) {
    if (name === "help") {
      const topic = argv[first + 1];
      const c = topic ? commands[topic] : undefined;
      process.stdout.write((c ? c.help : mainUsage()) + "\n");
      return topic && !c ? ExitCode.Usage : ExitCode.Ok;
    }
    if (name !== undefined) {
      process.stderr.write(`probegen: unknown command '${name}'. Run 'probegen --help' for the commands.\n`);
      return ExitCode.Usage;
    }
    if (argv.includes("-v") || argv.includes("--version")) {
      process.stdout.write(`${version}\n`);
      return ExitCode.Ok;
    }
    const asked = argv.includes("-h") || argv.includes("--help");
    const unknown = argv.find((a) => !["-h", "--help"].includes(a));
    if (unknown) {
      process.stderr.write(`probegen: unknown option '${unknown}'. Run 'probegen --help' for usage.\n`);
      return ExitCode.Usage;
    }
    (asked ? process.stdout : process.stderr).write(mainUsage() + "\n");
    return asked ? ExitCode.Ok : ExitCode.Usage;
  }
  const rest = [...argv.slice(0, first), ...argv.slice(first + 1)];
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...command.options, help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } },
    });
  } catch (e) {
    process.stderr.write(`probegen ${name}: ${(e as Error).message}\nRun 'probegen ${name} --help' for usage.\n`);
    return ExitCode.Usage;
  }
  if (parsed.values.help) {
    process.stdout.write(command.help + "\n");
    return ExitCode.Ok;
  }
  if (parsed.values.version) {
    process.stdout.write(`${version}\n`);
    return ExitCode.Ok;
  }
  try {
    return await command.run(parsed.values as Values, parsed.positionals);
  } catch (e) {
    return reportError(e, name!);
  }
}

/** A user's mistake or the kernel's refusal prints its message; only a bug prints a stack. */
export function reportError(e: unknown, command: string): number {
  if (e instanceof CliError) {
    const prefix = e.message.startsWith("probegen") ? "" : `probegen ${command}: `;
    process.stderr.write(`${prefix}${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ""}`);
    return e.exitCode;
  }
  const err = e as { name?: string; message?: string; stack?: string };
  if (err?.name === "BpfError") {
    process.stderr.write(`probegen ${command}: ${formatBpfError(e)}\n`);
    return ExitCode.Kernel;
  }
  process.stderr.write(`probegen: internal error: ${err?.stack ?? String(e)}\nThis is a bug in probegen; please report it.\n`);
  return ExitCode.Internal;
}

/** The runtime's BpfError: message (errno name, detail), explanation, trimmed verifier log. */
export function formatBpfError(e: unknown): string {
  const b = e as { message: string; explanation?: string; verifierLog?: string; verifierExplanation?: string; sourceLine?: string };
  const lines = [b.message];
  if (b.explanation && !b.message.includes(b.explanation)) lines.push(`  ${b.explanation}`);
  if (b.verifierExplanation && !b.message.includes(b.verifierExplanation)) lines.push(`  ${b.verifierExplanation}`);
  if (b.verifierLog && !b.message.includes(b.verifierLog)) lines.push("  verifier log:", ...b.verifierLog.split("\n").map((l) => `    ${l}`));
  return lines.join("\n");
}
