/**
 * Packet fields (packet.ts): the header walk a program gets is only as deep as what it reads,
 * every header is checked before it is read, a field of a missing header never passes a
 * condition, and byte order is the one a person expects (ports in host order, addresses as text).
 */
import { describe, expect, it } from "vitest";
import { emitC } from "../../src/compiler/emit-c.js";
import { compileC } from "../../src/compiler/clang.js";
import { packetValue, packetWalk, type PacketSource } from "../../src/compiler/packet.js";
import { frontEnd, located } from "../helpers/compile.js";

function xdpC(body: string): string {
  const { probe, diagnostics } = frontEnd(`name: t\nprograms:\n  - attach: xdp\n${body}`);
  expect(located(diagnostics)).toEqual([]);
  return emitC(probe!, "t.bpf.c");
}

describe("packet fields", () => {
  it("a program reading only packet metadata walks no header", () => {
    const c = xdpC("    fields: [pkt.len, pkt.ifindex]\n");
    expect(c).toContain("pg_p_pkt_len = (__u32)(ctx->data_end - ctx->data);");
    expect(c).toContain("pg_p_pkt_ifindex = ctx->ingress_ifindex;");
    expect(c).not.toContain("pg_p_data");
  });

  it("an IPv4 field walks Ethernet (with one VLAN tag) and IPv4 only, checked against data_end first", () => {
    const c = xdpC("    fields: [ip.ttl]\n");
    expect(c).toContain("if (pg_p_data + 14 <= pg_p_end) {");
    expect(c).toContain("if ((pg_p_type == 0x8100 || pg_p_type == 0x88a8) && pg_p_data + 18 <= pg_p_end) {");
    expect(c).toContain("if (pg_p_h + 20 <= pg_p_end && (pg_p_h[0] >> 4) == 4 && (pg_p_h[0] & 0x0f) >= 5) {");
    expect(c).toContain("pg_p_ip_ttl = pg_p_h[8];");
    expect(c).not.toContain("0x86dd");
    expect(c).not.toContain("pg_p_l4");
  });

  it("a TCP field walks IPv4 (options via the IHL, first fragments only) and IPv6 to TCP, and not UDP", () => {
    const c = xdpC("    fields: [tcp.dport]\n");
    expect(c).toContain("pg_p_l4 = pg_p_l3 + ((__u32)(pg_p_h[0] & 0x0f) << 2);");
    expect(c).toContain("if ((((__u16)pg_p_h[6] & 0x1f) << 8 | pg_p_h[7]) == 0) {");
    expect(c).toContain("pg_p_l4 = pg_p_l3 + 40;");
    expect(c).toContain("if (pg_p_l4 && pg_p_l4_proto == 6) {");
    expect(c).not.toContain("pg_p_l4_proto == 17");
  });

  it("ports are read big-endian into host order; addresses keep the packet's bytes and read as text in TS", () => {
    const { probe } = frontEnd("name: t\nprograms:\n  - attach: xdp\n    fields: [udp.sport, ip.daddr, ip6.saddr, { name: raw, from: ip.saddr, decode: none }]\n");
    const c = emitC(probe!, "t.bpf.c");
    expect(c).toContain("pg_p_udp_sport = (__u16)pg_p_h[0] << 8 | (__u16)pg_p_h[1];");
    expect(c).toContain("__builtin_memcpy(&pg_p_ip_daddr, pg_p_h + 16, 4);");
    expect(c).toContain("__builtin_memcpy(pg_p_ip6_saddr, pg_p_h + 8, 16);");
    const fields = probe!.events[0]!.fields.map((f) => [f.name, f.type.kind, f.decode?.kind]);
    expect(fields).toEqual([["sport", "int", undefined], ["daddr", "int", "ipv4"], ["saddr", "array", "ipv6"], ["raw", "int", undefined]]);
  });

  it("an IPv4 address compares with its text: the number its bytes make in the packet's order", () => {
    const c = xdpC("    filter: ip.saddr == \"10.0.0.1\"\n    fields: [pkt.len]\n");
    expect(c).toContain(`(__u64)(__u32)pg_p_ip_saddr == ${0x0100000a}ULL`);
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: xdp\n    filter: ip.daddr == \"10.0.0.300\"\n    fields: [pkt.len]\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:25: filter: '10.0.0.300' is not an IPv4 address"]);
  });

  it("a condition reading a header's field holds only when the packet has that header", () => {
    const c = xdpC("    filter: tcp.dport != 22\n    fields: [pkt.len]\n");
    expect(c).toContain("if (!(pg_p_has_tcp && ((__u64)(__u16)pg_p_tcp_dport != 22ULL)))");
    const either = xdpC("    filter: tcp.dport == 80 || udp.dport == 53\n    fields: [pkt.len]\n");
    expect(either).toContain("((pg_p_has_tcp && ((__u64)(__u16)pg_p_tcp_dport == 80ULL)) || (pg_p_has_udp && ((__u64)(__u16)pg_p_udp_dport == 53ULL)))");
  });

  it("`tcp`, `udp`, ... read whether the packet has the header; a map key of a missing header's field is 0", () => {
    const c = xdpC("    filter: udp\n    fields: [udp.dport]\n");
    expect(c).toContain("if (!pg_p_has_udp)");
    expect(c).toContain("__u16 pg_p_udp_dport = 0;");
  });

  it("a tracing program reading a packet field gets a located error", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [tcp.dport]\n");
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:14: 'tcp.dport' is a packet field, and tracepoint syscalls/sys_enter_openat sees no packet"]);
  });

  it("names of Object.prototype are neither packet fields nor builtins", () => {
    for (const attach of ["xdp", "tracepoint/syscalls/sys_enter_openat"]) {
      for (const name of ["constructor", "toString", "hasOwnProperty", "tcp.constructor"]) {
        const { diagnostics } = frontEnd(`name: t\nprograms:\n  - attach: ${attach}\n    fields: [${name}]\n`);
        expect(located(diagnostics)[0], `${attach} ${name}`).toMatch(/is not a value of (an xdp program|tracepoint syscalls\/sys_enter_openat)/);
      }
    }
  });

  it("a misspelt packet field gets suggestions", () => {
    const { diagnostics } = frontEnd("name: t\nprograms:\n  - attach: xdp\n    fields: [tcp.dprot]\n");
    expect(located(diagnostics)[0]).toBe("probes/test.yaml:4:14: 'tcp.dprot' is not a value of an xdp program. Did you mean 'tcp.dport' or 'tcp.sport'?");
  });

  it("network-relative programs have no Ethernet header, and walk from skb->protocol", async () => {
    const eth = packetValue(["eth", "proto"], { kind: "network-relative" });
    expect(eth).toEqual({ problem: "'eth.proto' reads the Ethernet header, and this program's packet starts at the network header", hint: expect.stringContaining("pkt.proto") });
    const reads: PacketSource[] = ["udp.dport", "ip6.saddr", "pkt.proto"].map((name) => ({ kind: "packet", read: { kind: "field", name } }));
    const walk = packetWalk(reads, { kind: "network-relative" });
    expect(walk).toContain("\tpg_p_l3_proto = __builtin_bswap16((__u16)ctx->protocol);");
    expect(walk).toContain("\t\tif (bpf_skb_load_bytes_relative(ctx, pg_p_l4, pg_p_h, 8, BPF_HDR_START_NET) == 0) {");
    expect(walk.join("\n")).not.toContain("ctx->data");
    // It compiles as a socket filter's body.
    const cText = `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\nSEC("socket")\nint f(struct __sk_buff *ctx)\n{\n${walk.join("\n")}\n\treturn pg_p_udp_dport + pg_p_ip6_saddr[0] + pg_p_pkt_proto;\n}\n`;
    await expect(compileC({ cPath: "t.bpf.c", cText, specPath: "t.yaml", specText: "" }).then((r) => r.object)).resolves.toBeInstanceOf(Uint8Array);
  });
});

describe("actions", () => {
  it("verdicts of the kind, conditional ones in order, the default last", () => {
    const c = xdpC("    fields: [udp.dport]\n    action:\n      - drop: udp.dport == 9\n      - tx: icmp.type == 8\n");
    const tail = c.slice(c.indexOf("pg_verdict:"));
    expect(tail).toMatch(/if \(pg_p_has_udp && .*pg_p_udp_dport == 9ULL\)\)\n\t\treturn XDP_DROP; \/\* drop \*\/\n#line 7 "probes\/test.yaml"\n\tif \(pg_p_has_icmp && .*\)\n\t\treturn XDP_TX; \/\* tx \*\/\n#line \d+ "t.bpf.c"\n\treturn XDP_PASS;\n\}/);
    // A full ring buffer costs the event, not the verdict.
    expect(c).toContain("pg_count_drop();\n\t\tgoto pg_verdict;");
  });

  it("unknown verdicts get the kind's, and a tracing program has none", () => {
    for (const [attach, action, message] of [
      ["xdp", "dorp", "probes/test.yaml:5:13: 'dorp' is not a verdict of an xdp program. Did you mean 'drop'?"],
      ["xdp", "constructor", "probes/test.yaml:5:13: 'constructor' is not a verdict of an xdp program."],
      ["xdp", "[drop, pass]", "probes/test.yaml:5:20: 'pass' comes after an action without a condition, which always applies: it would never be taken"],
      ["tracepoint/syscalls/sys_enter_openat", "drop", "probes/test.yaml:5:13: tracepoint syscalls/sys_enter_openat has no verdicts: only network programs (xdp, ...) decide what happens to traffic"],
    ]) {
      const { diagnostics } = frontEnd(`name: t\nprograms:\n  - attach: ${attach}\n    fields: [pid]\n    action: ${action}\n`);
      expect(located(diagnostics), action).toEqual([message]);
    }
  });
});
