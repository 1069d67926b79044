/**
 * cgroup_skb/ingress, cgroup_skb/egress: the packets of the sockets of every process in a cgroup
 * v2 directory named at load, from their network header (no Ethernet header at this layer).
 */
import type { AttachKind, Verdicts } from "./kind.js";
import { direction, directions, skbContext, type Direction } from "./skb.js";

export interface CgroupSkbPoint {
  kind: "cgroup_skb";
  direction: Direction;
}

const verdicts: Verdicts = {
  default: "pass",
  actions: {
    pass: { c: "1", drops: false },
    drop: { c: "0", drops: true },
  },
};

export const cgroupSkb: AttachKind<CgroupSkbPoint> = {
  prefixes: ["cgroup_skb"],
  targetNoun: "cgroup_skb direction",
  candidates: () => directions(),
  resolve(target, ctx) {
    const d = direction("cgroup_skb", target, ctx);
    return d && { kind: "cgroup_skb", direction: d };
  },
  section: (p) => `cgroup_skb/${p.direction}`,
  title: (p) => `cgroup_skb/${p.direction}`,
  owner: (p) => `a cgroup_skb/${p.direction} program`,
  programName: (p) => `cgroup_skb_${p.direction}`,
  arguments: () => ({ kind: "none" }),
  returnValue: () => undefined,
  context: () => skbContext,
  runtime: (p) => ({ kind: "cgroup_skb", direction: p.direction }),
  verdicts: () => verdicts,
  packet: () => ({ kind: "network-relative" }),
};
