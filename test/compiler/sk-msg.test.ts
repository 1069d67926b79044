/** sk_msg and socket maps in the compiler: the maps, the program's C, and the errors a user meets. */
import { describe, expect, it } from "vitest";
import { attachKind } from "../../src/compiler/attach/index.js";
import { emitC } from "../../src/compiler/emit-c.js";
import { frontEnd, located } from "../helpers/compile.js";

const maps = `maps:
  socks: { type: sockmap, max_entries: 64 }
  by_peer: { type: sockhash, key: { ip: u32, port: u16 } }
  per_port: { type: hash, key: u16, value: u64 }
`;
const spec = (program: string, declared = maps) => `name: t\n${declared}programs:\n${program}`;
const counting = (attach: string, extra = "") => spec(`  - attach: ${attach}\n${extra}    update: [{ map: per_port, key: msg.remote_port, count: true }]\n`);

function errors(text: string): string[] {
  return located(frontEnd(text).diagnostics);
}

function hints(text: string): Array<string | undefined> {
  return frontEnd(text).diagnostics.map((d) => d.hint);
}

describe("socket maps", () => {
  it("a sockmap is indexed by u32 and a sockhash by its key; both read back as u64 socket cookies", () => {
    const { probe, diagnostics } = frontEnd(counting("sk_msg/socks"));
    expect(diagnostics).toEqual([]);
    const [socks, byPeer] = probe!.maps;
    expect([socks!.kind, socks!.maxEntries, socks!.key, socks!.value]).toEqual(["sockmap", 64, { kind: "scalar", scalar: { kind: "int", size: 4, signed: false } }, { kind: "scalar", scalar: { kind: "int", size: 8, signed: false } }]);
    expect(byPeer!.kind).toBe("sockhash");
    expect(byPeer!.key?.kind).toBe("struct");
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain("\t__uint(type, BPF_MAP_TYPE_SOCKMAP);\n\t__uint(max_entries, 64);\n\t__type(key, __u32);\n\t__type(value, __u64);\n} socks SEC(\".maps\");");
    expect(c).toContain("\t__uint(type, BPF_MAP_TYPE_SOCKHASH);\n\t__uint(max_entries, 10240);\n\t__type(key, struct pg_map_by_peer_key);\n\t__type(value, __u64);\n} by_peer SEC(\".maps\");");
  });

  it("has no value type, a sockmap no other key, and a sockhash needs one", () => {
    expect(errors(counting("sk_msg/socks", "").replace("type: sockmap, max_entries: 64", "type: sockmap, value: u64"))).toEqual([
      "probes/test.yaml:3:27: a sockmap has no 'value': its values are sockets, which TypeScript adds (probe.maps.socks.add(key, socket))",
    ]);
    expect(errors(counting("sk_msg/socks").replace("type: sockmap, max_entries: 64", "type: sockmap, key: u64"))).toEqual(["probes/test.yaml:3:32: a sockmap is indexed by u32"]);
    expect(errors(counting("sk_msg/socks").replace("type: sockhash, key: { ip: u32, port: u16 }", "type: sockhash"))).toEqual(["probes/test.yaml:4:3: map 'by_peer' is a sockhash: it needs a key type"]);
  });

  it("programs neither update nor read them", () => {
    expect(errors(spec("  - attach: sk_msg/socks\n    update: [{ map: socks, key: 1, count: true }]\n"))).toEqual([
      "probes/test.yaml:8:21: 'socks' is a sockmap: it holds sockets, which TypeScript adds (probe.maps.socks.add(key, socket))",
    ]);
    expect(errors(counting("sk_msg/socks", "    filter: 'socks[1] > 0'\n"))).toEqual(["probes/test.yaml:8:14: filter: 'socks' is a sockmap: it holds sockets, which programs do not read"]);
  });
});

describe("sk_msg/MAP", () => {
  it("runs as SEC(\"sk_msg\") on struct sk_msg_md, returns SK_PASS unless told otherwise, and reads the message's fields in host order", () => {
    const { probe, diagnostics } = frontEnd(counting("sk_msg/socks", "    filter: msg.size > 10 && msg.local_port != 22\n    fields: [msg.size, msg.family, msg.local_ip4, msg.remote_ip4, msg.local_port, msg.remote_port, pid, comm]\n"));
    expect(diagnostics).toEqual([]);
    const [program] = probe!.programs;
    expect([program!.name, program!.section]).toEqual(["socks_msg", "sk_msg"]);
    expect(program!.event!.fields.map((f) => [f.name, f.type.kind === "int" ? f.type.size : f.type.kind, f.decode?.kind])).toEqual([
      ["size", 4, undefined], ["family", 4, undefined], ["local_ip4", 4, "ipv4"], ["remote_ip4", 4, "ipv4"], ["local_port", 2, undefined], ["remote_port", 2, undefined],
      ["pid", 4, undefined], ["comm", "string", undefined],
    ]);
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain("#include <bpf/bpf_endian.h>");
    expect(c).toContain('SEC("sk_msg")\nint socks_msg(struct sk_msg_md *ctx)');
    expect(c).toContain("(__u16)bpf_ntohl(ctx->remote_port)");
    expect(c).toContain("(__u16)ctx->local_port");
    expect(c).not.toMatch(/return 0;/);
    expect(c).toMatch(/return SK_PASS;\n}\n/);
  });

  it("names a socket map of the spec: a missing one gets the near ones, another map says what it is", () => {
    expect(errors(counting("sk_msg/sock"))).toEqual([
      "probes/test.yaml:7:13: sk_msg programs run for the sockets of a sockmap or sockhash, and this spec has no map 'sock'. Did you mean 'socks'?",
    ]);
    expect(hints(counting("sk_msg/nomap"))).toEqual(["socket maps of this spec: socks, by_peer"]);
    expect(errors(counting("sk_msg/per_port"))).toEqual(["probes/test.yaml:7:13: sk_msg programs run for the sockets of a sockmap or sockhash, and 'per_port' is a hash map"]);
    expect(hints(counting("sk_msg/socks", "").replace(/ {2}socks: .*\n {2}by_peer: .*\n/, ""))).toEqual(["declare one: maps: { socks: { type: sockmap } }"]);
  });

  it("a list of socket maps is one program per map", () => {
    const { probe, diagnostics } = frontEnd(spec("  - attach: [sk_msg/socks, sk_msg/by_peer]\n    fields: [msg.size]\n"));
    expect(diagnostics).toEqual([]);
    expect(probe!.programs.map((p) => [p.name, attachKind(p.attach).runtime(p.attach)])).toEqual([
      ["by_peer_msg", { kind: "sk_msg", map: "by_peer" }], ["socks_msg", { kind: "sk_msg", map: "socks" }],
    ]);
  });

  it("a glob matches the spec's socket maps", () => {
    const { probe, diagnostics } = frontEnd(spec("  - attach: sk_msg/*\n    event: message\n    fields: [msg.size]\n"));
    expect(diagnostics).toEqual([]);
    expect(probe!.programs.map((p) => p.name)).toEqual(["by_peer_msg", "socks_msg"]);
    expect(errors(spec("  - attach: sk_msg/per*\n    fields: [msg.size]\n"))).toEqual(["probes/test.yaml:7:13: 'sk_msg/per*' matches no sockmap or sockhash of this spec."]);
  });

  it("is one program per map: the kernel keeps one", () => {
    const two = spec("  - attach: sk_msg/socks\n    fields: [msg.size]\n  - attach: sk_msg/socks\n    name: again\n    fields: [msg.size]\n  - attach: sk_msg/by_peer\n    fields: [msg.size]\n");
    expect(errors(two)).toEqual(["probes/test.yaml:9:5: programs 'socks_msg' and 'again' are both the sk_msg for the sockets of socks, and the kernel keeps one: the second would replace the first"]);
  });

  it("has the message's fields and the builtins; not other kinds' names", () => {
    expect(errors(counting("sk_msg/socks", "    fields: [msg.sise]\n"))).toEqual(["probes/test.yaml:8:14: 'msg.sise' is not a value of an sk_msg program. Did you mean 'size'?"]);
    expect(hints(counting("sk_msg/socks", "    fields: [args.filename]\n"))[0]).toMatch(/^available: .*msg\.size, msg\.family/);
    expect(errors(counting("sk_msg/socks", "    fields: [retval]\n"))).toEqual(["probes/test.yaml:8:14: 'retval' is not a value of an sk_msg program."]);
    // A tracing program has no msg.*.
    expect(errors(spec("  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [msg.size]\n"))[0]).toMatch(/'msg\.size' is not a value of tracepoint syscalls\/sys_enter_openat/);
  });
});

describe("sk_msg verdicts (action:)", () => {
  it("drops on a condition, passes otherwise", () => {
    const { probe, diagnostics } = frontEnd(counting("sk_msg/socks", "    action: { drop: msg.remote_port == 9 }\n"));
    expect(diagnostics).toEqual([]);
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain("SK_DROP");
    expect(c).toMatch(/return SK_PASS;\n}\n/);
  });

  it("knows only pass and drop", () => {
    expect(frontEnd(counting("sk_msg/socks", "    action: tx\n")).diagnostics.map((d) => [d.message, d.hint])).toEqual([["'tx' is not a verdict of an sk_msg program.", "use one of: pass, drop"]]);
  });
});
