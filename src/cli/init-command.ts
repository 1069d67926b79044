/**
 * `probegen init NAME --attach POINT`: a starter spec with the schema line, one program that
 * captures a few useful values, and every value the attach point offers listed as comments.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { check, closest, identifierProblem, packageRoot, typeName } from "../compiler/index.js";
import { defaultFieldType, KernelSymbols, Tracefs, type TracepointField } from "../kernel/index.js";
import { CliError, usageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { printDiagnostics } from "./output.js";
import { builtinValues } from "./list-command.js";

export async function initCommand(name: string, flags: { attach: string; output?: string; force: boolean }): Promise<number> {
  const problem = identifierProblem(name);
  if (problem || !/^[a-z][a-z0-9_]*$/.test(name)) {
    throw usageError(`'${name}' cannot name a probe: ${problem ?? "use lower_snake_case (a-z, 0-9, _)"}`);
  }
  const out = flags.output ?? join("probes", `${name}.yaml`);
  if (existsSync(out) && !flags.force) throw usageError(`${out} already exists`, "pass --force to overwrite it, or -o to write elsewhere");
  const attach = flags.attach.replace(/^(tracepoint|kprobe|kretprobe):/, "$1/").replace(/^(tracepoint\/[^/:]+):/, "$1/");
  const [kind, ...rest] = attach.split("/");
  const target = rest.join("/");
  const schema = relative(dirname(out), join(packageRoot, "schemas", "probe.schema.json")).split(sep).join("/");
  if (attach === "xdp") return writeStarter(out, xdpStarter(name, schema), "--interface NAME ");
  let program: string[];
  let comments: string[];
  if (kind === "tracepoint") {
    const [category, event] = rest;
    const tracefs = Tracefs.find();
    if (!tracefs) {
      const { reason, hint } = Tracefs.problem();
      throw new CliError(`${reason}, so the tracepoint's fields cannot be read`, ExitCode.Kernel, hint);
    }
    const format = category && event ? tracefs.format(category, event) : undefined;
    if (!format) {
      const near = closest(target, tracefs.allNames(), 3);
      throw usageError(`the kernel has no tracepoint '${target}'${near.length ? `. Did you mean ${near.map((n) => `'${n}'`).join(", ")}?` : ""}`,
        "find one with: probegen list tracepoints 'CATEGORY/*'");
    }
    const taken = new Set(builtinValues.map(([n]) => n));
    // Addresses are captured only when a spec asks (type: u64), so the starter leaves pointers out.
    const capturable = (f: TracepointField) => f.access.kind !== "pointer" && defaultFieldType(f, 256) !== undefined;
    const chosen = format.fields.filter((f) => !f.name.startsWith("__") && !taken.has(f.name) && capturable(f)).slice(0, 3);
    program = ["pid", "comm", ...chosen.map((f) => f.name)];
    comments = [
      `# Values of tracepoint/${target} (C type -> captured as):`,
      ...format.fields.map((f) => `#   ${f.name.padEnd(20)} ${f.cType.padEnd(24)} -> ${describe(f)}`),
    ];
  } else if (kind === "kprobe" || kind === "kretprobe") {
    const symbols = KernelSymbols.read();
    if (!target || (symbols && !symbols.has(target))) {
      const near = symbols && target ? closest(target, symbols.names(), 3) : [];
      throw usageError(`the kernel has no function '${target}'${near.length ? `. Did you mean ${near.map((n) => `'${n}'`).join(", ")}?` : ""}`);
    }
    const { KernelBtf } = await import("./kernel-btf.js");
    const proto = (await KernelBtf.read().catch(() => undefined))?.proto(target);
    if (kind === "kprobe") {
      program = ["pid", "comm", proto?.params[0] ? `{ name: ${safeName(proto.params[0].name, "arg0")}, from: arg0${proto.params[0].size === 4 ? ", type: " + (proto.params[0].signed ? "i32" : "u32") : ""} }` : "arg0"];
      comments = ["# Arguments (arg0..arg4 are u64 unless 'type:' says otherwise):",
        ...(proto ? proto.params.slice(0, 5).map((p, i) => `#   arg${i}  ${p.cType} ${p.name}`) : ["#   (no BTF prototype for this function)"])];
    } else {
      program = ["pid", "comm", "{ name: ret, from: retval, type: i64 }"];
      comments = [`# retval is the return value${proto ? ` (${proto.returnType})` : ""}, i64 unless 'type:' says otherwise.`];
    }
  } else {
    throw usageError(`cannot attach to '${flags.attach}'`, "use tracepoint/CATEGORY/NAME, kprobe/FUNCTION, kretprobe/FUNCTION or xdp");
  }
  const text = [
    `# yaml-language-server: $schema=${schema}`,
    `name: ${name}`,
    `description: ${kind === "tracepoint" ? `Events of tracepoint ${target}.` : `Calls of ${target}()${kind === "kretprobe" ? ", returned" : ""}.`}`,
    "programs:",
    `  - attach: ${kind}/${target}`,
    `    event: ${name}`,
    "    # filter: uid != 0",
    "    fields:",
    ...program.map((f) => `      - ${f}`),
    "",
    ...comments,
    `# Every program can also capture: ${builtinValues.map(([n, t]) => `${n} (${t})`).join(", ")}.`,
    "# Format: docs/spec.md",
    "",
  ].join("\n");
  return writeStarter(out, text);
}

/** Writes a starter and checks it against this kernel: a starter that does not check is a probegen bug. */
async function writeStarter(out: string, text: string, runFlags = ""): Promise<number> {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, text);
  // The starter must be right: check it against this kernel now.
  const [result] = await check([out]);
  if (result!.diagnostics.length) {
    printDiagnostics(result!.diagnostics);
    process.stderr.write(`wrote ${out}, but it does not check: this is a probegen bug; please report it\n`);
    return ExitCode.Internal;
  }
  process.stderr.write(`wrote ${out}\n  try it:   probegen run ${runFlags}${out}\n  build it: probegen build ${out}\n`);
  return ExitCode.Ok;
}

/** An XDP starter: packets and bytes by IP protocol, every packet passed. */
function xdpStarter(name: string, schema: string): string {
  return [
    `# yaml-language-server: $schema=${schema}`,
    `name: ${name}`,
    "description: Packets and bytes received on an interface, by IP protocol (6 TCP, 17 UDP, 1 ICMP; 58 ICMPv6).",
    "maps:",
    "  packets:",
    "    type: percpu_hash",
    "    description: Packets by IP protocol.",
    "    key: u8",
    "    value: u64",
    "    max_entries: 256",
    "  bytes:",
    "    type: percpu_hash",
    "    description: Bytes by IP protocol.",
    "    key: u8",
    "    value: u64",
    "    max_entries: 256",
    "programs:",
    "  - attach: xdp",
    "    # The IPv4 protocol, else the IPv6 next header (ip6.next).",
    "    filter: ip || ip6",
    "    update:",
    "      - { map: packets, key: ip.proto | ip6.next, count: true }",
    "      - { map: bytes, key: ip.proto | ip6.next, sum: pkt.len }",
    "    # Verdicts: pass (the default), drop, tx, aborted. Dropping needs probegen run --allow-drop.",
    "    # action: { drop: \"udp.dport == 9\" }",
    "",
    "# Packet fields: pkt.len, pkt.ifindex, pkt.proto, eth.proto, eth.vlan, ip.saddr, ip.daddr, ip.proto,",
    "# ip.ttl, ip6.saddr, ip6.daddr, ip6.next, tcp.sport, tcp.dport, tcp.flags, udp.sport, udp.dport,",
    "# icmp.type, icmp6.type; ip, ip6, tcp, udp, icmp, icmp6 say whether the packet has that header.",
    "# Run it: probegen run --interface eth0 THIS_FILE (probegen list interfaces). Format: docs/spec.md",
    "",
  ].join("\n");
}

function describe(f: TracepointField): string {
  const type = defaultFieldType(f, 256);
  if (!type) return "not capturable (an array of no fixed length)";
  const t = typeName(type);
  switch (f.access.kind) {
    case "user_string": return `${t} (user string)`;
    case "user_string_list": return `${t} (a list of user strings)`;
    case "kernel_string": return `${t} (kernel string)`;
    case "pointer": return `its address only with type: u64`;
    case "array": return `${t} (copied by value)`;
    default: return t;
  }
}

function safeName(name: string, fallback: string): string {
  const taken = builtinValues.some(([n]) => n === name);
  return name && !taken && !identifierProblem(name) && /^[a-z_][a-z0-9_]*$/.test(name) ? name : fallback;
}
