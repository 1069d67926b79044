/**
 * Packet fields: `ip.saddr`, `tcp.dport`, `pkt.len`, ... and the header walk they compile to.
 *
 * Everything here is a fixed table: which header a field is in, at which offset, how wide, and
 * in which byte order it is read. The walk is emitted once per program, at its start, and only
 * as deep as the fields the program reads need (no IPv6 walk for a program that reads `ip.ttl`).
 * It copies each field into a local of its own (`pg_p_tcp_dport`), set where the header's bounds
 * are checked, so nothing reads the packet later and the verifier sees every read checked:
 *
 *  - direct access (XDP, tc): pointers from `ctx->data`, each header checked against
 *    `ctx->data_end` before a byte of it is read;
 *  - network-relative access (socket filters, cgroup_skb): each header copied onto the stack with
 *    bpf_skb_load_bytes_relative from the network header, IPv4 or IPv6 by `skb->protocol`.
 *
 * Absence: a field of a header the packet does not have reads 0, and `tcp`, `udp`, ... read
 * whether the packet has that header. A condition (filter, `if`, action) holds only where the
 * packet has every header its comparisons read (see guardPresence). Byte order: every number is
 * in host order except addresses, which keep the packet's bytes (TS shows them as text).
 */
import type { IrExpr, ValueSource } from "./ir.js";
import type { PacketAccess } from "./attach/kind.js";
import { u16, u32, u8, type ArrayType, type BoolType, type IntType } from "./types.js";

/** A header the walk can find, in the order it finds them. */
export type PacketHeader = "eth" | "ip" | "ip6" | "tcp" | "udp" | "icmp" | "icmp6";

/** Bytes of a header the walk checks (or loads) before it reads any field of it. */
const headerBytes: Record<PacketHeader, number> = { eth: 14, ip: 20, ip6: 40, tcp: 20, udp: 8, icmp: 4, icmp6: 4 };

const headerTitles: Record<PacketHeader, string> = {
  eth: "Ethernet", ip: "IPv4", ip6: "IPv6", tcp: "TCP", udp: "UDP", icmp: "ICMP", icmp6: "ICMPv6",
};

/** IANA protocol numbers of the transport headers, and the IP versions that carry them. */
const transports: Partial<Record<PacketHeader, { proto: number; over: Array<"ip" | "ip6"> }>> = {
  tcp: { proto: 6, over: ["ip", "ip6"] },
  udp: { proto: 17, over: ["ip", "ip6"] },
  icmp: { proto: 1, over: ["ip"] },
  icmp6: { proto: 58, over: ["ip6"] },
};

/**
 * How a field is read from its header's bytes: `host` is a big-endian number turned into host
 * order; `bytes` copies them as they are (addresses: the TS decoder reads network order).
 */
interface HeaderField {
  header: PacketHeader;
  offset: number;
  read: { kind: "host"; type: IntType; mask?: number } | { kind: "bytes"; type: IntType | ArrayType; decode: "ipv4" | "ipv6" };
  description: string;
}

const ipv4Address = (offset: number, what: string): HeaderField =>
  ({ header: "ip", offset, read: { kind: "bytes", type: u32, decode: "ipv4" }, description: `IPv4 ${what} address` });
const ipv6Address = (offset: number, what: string): HeaderField =>
  ({ header: "ip6", offset, read: { kind: "bytes", type: { kind: "array", element: u8, length: 16 }, decode: "ipv6" }, description: `IPv6 ${what} address` });
const number = (header: PacketHeader, offset: number, type: IntType, description: string, mask?: number): HeaderField =>
  ({ header, offset, read: { kind: "host", type, ...(mask !== undefined ? { mask } : {}) }, description });

/** The fields of the headers, by the name a spec reads them as. */
const headerFields: Record<string, HeaderField> = {
  "ip.saddr": ipv4Address(12, "source"),
  "ip.daddr": ipv4Address(16, "destination"),
  "ip.proto": number("ip", 9, u8, "IPv4 protocol (6 TCP, 17 UDP, 1 ICMP)"),
  "ip.ttl": number("ip", 8, u8, "IPv4 time to live"),
  "ip.tos": number("ip", 1, u8, "IPv4 type of service (DSCP and ECN)"),
  "ip.len": number("ip", 2, u16, "IPv4 total length, header included"),
  "ip6.saddr": ipv6Address(8, "source"),
  "ip6.daddr": ipv6Address(24, "destination"),
  "ip6.next": number("ip6", 6, u8, "IPv6 next header (6 TCP, 17 UDP, 58 ICMPv6; extension headers are not followed)"),
  "ip6.hop_limit": number("ip6", 7, u8, "IPv6 hop limit"),
  "ip6.len": number("ip6", 4, u16, "IPv6 payload length"),
  "tcp.sport": number("tcp", 0, u16, "TCP source port"),
  "tcp.dport": number("tcp", 2, u16, "TCP destination port"),
  "tcp.flags": number("tcp", 13, u8, "TCP flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128)"),
  "tcp.window": number("tcp", 14, u16, "TCP window"),
  "udp.sport": number("udp", 0, u16, "UDP source port"),
  "udp.dport": number("udp", 2, u16, "UDP destination port"),
  "udp.len": number("udp", 4, u16, "UDP length, header included"),
  "icmp.type": number("icmp", 0, u8, "ICMP type (8 echo request, 0 echo reply)"),
  "icmp.code": number("icmp", 1, u8, "ICMP code"),
  "icmp6.type": number("icmp6", 0, u8, "ICMPv6 type (128 echo request, 129 echo reply)"),
  "icmp6.code": number("icmp6", 1, u8, "ICMPv6 code"),
};

/** Fields the walk computes rather than reads at one offset, and the packet's own metadata. */
const walkFields = {
  "eth.proto": { needs: "eth" as const, type: u16, description: "EtherType of the payload, after a VLAN tag (0x0800 IPv4, 0x86dd IPv6)" },
  "eth.vlan": { needs: "eth" as const, type: u16, description: "VLAN id of the packet's 802.1Q tag (0 when untagged)" },
  "pkt.proto": { needs: "l3" as const, type: u16, description: "network protocol, an EtherType (0x0800 IPv4, 0x86dd IPv6)" },
  "pkt.len": { needs: "ctx" as const, type: u32, description: "packet length in bytes" },
  "pkt.ifindex": { needs: "ctx" as const, type: u32, description: "index of the interface the packet is on" },
};
type WalkField = keyof typeof walkFields;

/** What a packet value reads: a field, or whether the packet has a header. */
export type PacketRead = { kind: "field"; name: string } | { kind: "has"; header: PacketHeader };

export type PacketSource = ValueSource & { kind: "packet" };

const headers = Object.keys(headerBytes) as PacketHeader[];

/** Every packet value, in the order the walk declares them. */
const canonicalOrder = [...headers, ...Object.keys(walkFields), ...Object.keys(headerFields)];

/** Every name a packet program can read, for suggestions and `available:` lists. */
export function packetNames(access: PacketAccess): string[] {
  const eth = (n: string) => access.kind === "direct" || !n.startsWith("eth");
  return [...headers.filter(eth), ...Object.keys(headerFields), ...Object.keys(walkFields).filter(eth)];
}

/** Whether a spec's name is one of the packet's (`tcp.dport`, `udp`): whatever the program's kind. */
export function isPacketName(path: string[]): boolean {
  const name = path.join(".");
  return (path.length === 1 && headers.includes(name as PacketHeader)) || name in headerFields || name in walkFields;
}

export interface PacketValue {
  source: PacketSource;
  type: IntType | ArrayType | BoolType;
  description: string;
}

/** A packet name read by a program with `access`: its value, or why it cannot read it. */
export function packetValue(path: string[], access: PacketAccess): PacketValue | { problem: string; hint: string } {
  const name = path.join(".");
  const header = path.length === 1 ? headers.find((h) => h === name) : undefined;
  if ((header ?? path[0]) === "eth" && access.kind !== "direct") {
    return { problem: `'${name}' reads the Ethernet header, and this program's packet starts at the network header`, hint: "read pkt.proto for the network protocol (0x0800 IPv4, 0x86dd IPv6)" };
  }
  if (header) return { source: { kind: "packet", read: { kind: "has", header } }, type: { kind: "bool" }, description: `whether the packet has ${article(headerTitles[header])} header` };
  const field = headerFields[name];
  if (field) return { source: { kind: "packet", read: { kind: "field", name } }, type: field.read.type, description: field.description };
  const walked = walkFields[name as WalkField];
  return { source: { kind: "packet", read: { kind: "field", name } }, type: walked.type, description: walked.description };
}

function article(word: string): string {
  return /^[AEIOU]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** The decoder TS shows a packet value with unasked: addresses as text. */
export function packetDecoder(source: PacketSource): "ipv4" | "ipv6" | undefined {
  const field = source.read.kind === "field" ? headerFields[source.read.name] : undefined;
  return field?.read.kind === "bytes" ? field.read.decode : undefined;
}

/** The header a packet value is in (undefined for metadata and the computed protocol). */
function headerOf(read: PacketRead): PacketHeader | undefined {
  if (read.kind === "has") return read.header;
  return headerFields[read.name]?.header ?? (read.name.startsWith("eth.") ? "eth" : undefined);
}

/** The C local a packet value is kept in. Names come from the tables above, never from a spec. */
export function packetLocal(source: PacketSource): string {
  const read = source.read;
  return read.kind === "has" ? `pg_p_has_${read.header}` : `pg_p_${read.name.replace(".", "_")}`;
}

export function packetSourceKey(source: PacketSource): string {
  return source.read.kind === "has" ? `packet:has:${source.read.header}` : `packet:${source.read.name}`;
}

export function packetSourceName(source: PacketSource): string {
  return source.read.kind === "has" ? source.read.header : source.read.name;
}

// ---- absence in conditions ------------------------------------------------------------------

/**
 * A condition as it should hold for a packet: each comparison (or other non-logical part) that
 * reads a field of a header is false when the packet lacks that header, so `tcp.dport != 22` is
 * false for a UDP packet and `tcp.dport == 80 || udp.dport == 53` holds for either. `&&`, `||`
 * and `!` combine the guarded parts as written (`!(tcp.dport == 80)` holds for UDP, as in pcap).
 */
export function guardPresence(e: IrExpr, packetSources: (e: IrExpr) => PacketSource[]): IrExpr {
  if (e.kind === "binary" && (e.op === "&&" || e.op === "||")) {
    return { ...e, left: guardPresence(e.left, packetSources), right: guardPresence(e.right, packetSources) };
  }
  if (e.kind === "unary" && e.op === "!") return { ...e, operand: guardPresence(e.operand, packetSources) };
  const needed = [...new Set(packetSources(e).flatMap((s) => (s.read.kind === "field" ? [headerOf(s.read)] : [])))]
    .filter((h): h is PacketHeader => h !== undefined)
    // eth.* are always there when the program runs at all: only the direct walk reads them.
    .filter((h) => h !== "eth");
  if (needed.length === 0) return e;
  const bool: BoolType = { kind: "bool" };
  const has = (header: PacketHeader): IrExpr => ({ kind: "value", source: { kind: "packet", read: { kind: "has", header } }, type: bool, span: e.span });
  return [...needed.map(has), e].reduce((left, right) => ({ kind: "binary", op: "&&", left, right, type: bool, span: e.span }));
}

// ---- the header walk ----------------------------------------------------------------------------

/** What a program's walk must establish, from the packet values it reads. */
interface Needs {
  values: Set<string>;
  headers: Set<PacketHeader>;
}

function needsOf(reads: PacketSource[]): Needs {
  const values = new Set(reads.map(packetSourceName));
  const found = new Set<PacketHeader>();
  for (const s of reads) {
    const h = headerOf(s.read);
    if (h) found.add(h);
  }
  return { values, headers: found };
}

/**
 * The C statements of a program's header walk: locals for every packet value it reads (0 until
 * found), and the checks that find them. `access` is its kind's packet access.
 */
export function packetWalk(reads: PacketSource[], access: PacketAccess): string[] {
  if (reads.length === 0) return [];
  const needs = needsOf(reads);
  const out: string[] = ["/* The packet's headers: each one checked before it is read; what the packet lacks reads 0. */"];
  const emit = (text: string, depth = 0) => out.push(`${"\t".repeat(depth)}${text}`);

  const transportsRead = headers.filter((h) => transports[h] && needs.headers.has(h));
  const ipVersions = new Set<"ip" | "ip6">();
  for (const h of transportsRead) for (const v of transports[h]!.over) ipVersions.add(v);
  if (needs.headers.has("ip")) ipVersions.add("ip");
  if (needs.headers.has("ip6")) ipVersions.add("ip6");
  const l3 = ipVersions.size > 0 || needs.values.has("pkt.proto");
  const l4 = transportsRead.length > 0;

  // Locals: every value read, and the offsets the walk moves along.
  for (const name of canonicalOrder.filter((n) => needs.values.has(n))) {
    const local = packetLocal(valueNamed(name));
    const type = localType(name);
    emit(type.kind === "array" ? `__u8 ${local}[${type.length}] = {};` : `${cType(type)} ${local} = 0;`);
  }
  if (l3) emit("__u16 pg_p_l3_proto = 0;");
  if (l3 && access.kind === "direct") emit("__u32 pg_p_l3 = 0;");
  if (l4) {
    emit("__u8 pg_p_l4_proto = 0;");
    emit("__u32 pg_p_l4 = 0;");
  }

  if (needs.values.has("pkt.len")) emit(`pg_p_pkt_len = ${access.kind === "direct" && access.ctx === "xdp_md" ? "(__u32)(ctx->data_end - ctx->data)" : "ctx->len"};`);
  if (needs.values.has("pkt.ifindex")) emit(`pg_p_pkt_ifindex = ${access.kind === "direct" && access.ctx === "xdp_md" ? "ctx->ingress_ifindex" : "ctx->ifindex"};`);

  const reader = access.kind === "direct" ? directReader : relativeReader;
  if (access.kind === "direct") {
    if (l3 || needs.headers.has("eth")) {
      emit("__u8 *pg_p_data = (__u8 *)(long)ctx->data;");
      emit("__u8 *pg_p_end = (__u8 *)(long)ctx->data_end;");
      // Ethernet, and one 802.1Q/802.1ad tag.
      emit(`if (pg_p_data + ${headerBytes.eth} <= pg_p_end) {`);
      if (needs.values.has("eth")) emit("pg_p_has_eth = 1;", 1);
      emit("__u16 pg_p_type = (__u16)pg_p_data[12] << 8 | pg_p_data[13];", 1);
      emit("__u32 pg_p_at = 14;", 1);
      emit("if ((pg_p_type == 0x8100 || pg_p_type == 0x88a8) && pg_p_data + 18 <= pg_p_end) {", 1);
      if (needs.values.has("eth.vlan")) emit("pg_p_eth_vlan = ((__u16)pg_p_data[14] << 8 | pg_p_data[15]) & 0x0fff;", 2);
      emit("pg_p_type = (__u16)pg_p_data[16] << 8 | pg_p_data[17];", 2);
      emit("pg_p_at = 18;", 2);
      emit("}", 1);
      if (needs.values.has("eth.proto")) emit("pg_p_eth_proto = pg_p_type;", 1);
      if (l3) {
        emit("pg_p_l3_proto = pg_p_type;", 1);
        emit("pg_p_l3 = pg_p_at;", 1);
      }
      emit("}");
    }
  } else if (l3) {
    // skb->protocol is the EtherType in network byte order.
    emit("pg_p_l3_proto = __builtin_bswap16((__u16)ctx->protocol);");
  }
  if (needs.values.has("pkt.proto")) emit("pg_p_pkt_proto = pg_p_l3_proto;");
  const l3Offset = access.kind === "direct" ? "pg_p_l3" : "0";

  if (ipVersions.has("ip")) {
    emit("if (pg_p_l3_proto == 0x0800) {");
    reader(out, l3Offset, headerBytes.ip, "(pg_p_h[0] >> 4) == 4 && (pg_p_h[0] & 0x0f) >= 5");
    fieldsOf("ip", needs, out);
    if (l4) {
      // Only a packet's first fragment carries the transport header (fragment offset 0).
      emit("if ((((__u16)pg_p_h[6] & 0x1f) << 8 | pg_p_h[7]) == 0) {", 2);
      emit("pg_p_l4_proto = pg_p_h[9];", 3);
      emit(`pg_p_l4 = ${l3Offset} + ((__u32)(pg_p_h[0] & 0x0f) << 2);`, 3);
      emit("}", 2);
    }
    emit("}", 1);
    emit("}");
  }
  if (ipVersions.has("ip6")) {
    emit("if (pg_p_l3_proto == 0x86dd) {");
    reader(out, l3Offset, headerBytes.ip6, "(pg_p_h[0] >> 4) == 6");
    fieldsOf("ip6", needs, out);
    if (l4) {
      // The header right after the IPv6 one: extension headers are not followed.
      emit("pg_p_l4_proto = pg_p_h[6];", 2);
      emit(`pg_p_l4 = ${l3Offset} + 40;`, 2);
    }
    emit("}", 1);
    emit("}");
  }
  for (const h of transportsRead) {
    const t = transports[h]!;
    const ipOnly = t.over.length === 1 ? ` && pg_p_l3_proto == ${t.over[0] === "ip" ? "0x0800" : "0x86dd"}` : "";
    emit(`if (pg_p_l4 && pg_p_l4_proto == ${t.proto}${ipOnly}) {`);
    reader(out, "pg_p_l4", headerBytes[h]);
    fieldsOf(h, needs, out);
    emit("}", 1);
    emit("}");
  }
  return out.map((l) => `\t${l}`);
}

/** Opens the block where `pg_p_h` points at `bytes` checked bytes of the packet at `offset`. */
type HeaderReader = (out: string[], offset: string, bytes: number, check?: string) => void;

const directReader: HeaderReader = (out, offset, bytes, check) => {
  out.push(`\t__u8 *pg_p_h = pg_p_data + ${offset};`);
  out.push(`\tif (pg_p_h + ${bytes} <= pg_p_end${check ? ` && ${check}` : ""}) {`);
};

const relativeReader: HeaderReader = (out, offset, bytes, check) => {
  out.push(`\t__u8 pg_p_h[${bytes}];`);
  out.push(`\tif (bpf_skb_load_bytes_relative(ctx, ${offset}, pg_p_h, ${bytes}, BPF_HDR_START_NET) == 0${check ? ` && ${check}` : ""}) {`);
};

/** Inside a header's checked block: its presence and the fields of it the program reads. */
function fieldsOf(header: PacketHeader, needs: Needs, out: string[]): void {
  const emit = (text: string) => out.push(`\t\t${text}`);
  if (needs.values.has(header)) emit(`pg_p_has_${header} = 1;`);
  for (const [name, f] of Object.entries(headerFields)) {
    if (f.header !== header || !needs.values.has(name)) continue;
    const local = `pg_p_${name.replace(".", "_")}`;
    const type = f.read.type;
    if (f.read.kind === "bytes") {
      emit(`__builtin_memcpy(${type.kind === "array" ? local : `&${local}`}, pg_p_h + ${f.offset}, ${type.kind === "array" ? type.length : type.size});`);
    } else {
      const bytes = (f.read.type as IntType).size;
      const parts = Array.from({ length: bytes }, (_, i) => `(${cType(f.read.type as IntType)})pg_p_h[${f.offset + i}] << ${8 * (bytes - 1 - i)}`);
      emit(`${local} = ${bytes === 1 ? `pg_p_h[${f.offset}]` : parts.join(" | ").replace(/ << 0$/, "")};`);
    }
  }
}

function valueNamed(name: string): PacketSource {
  return headers.includes(name as PacketHeader)
    ? { kind: "packet", read: { kind: "has", header: name as PacketHeader } }
    : { kind: "packet", read: { kind: "field", name } };
}

function localType(name: string): IntType | ArrayType | BoolType {
  if (headers.includes(name as PacketHeader)) return { kind: "bool" };
  return headerFields[name]?.read.type ?? walkFields[name as WalkField].type;
}

function cType(t: IntType | BoolType): string {
  return t.kind === "bool" ? "__u8" : `__u${t.size * 8}`;
}
