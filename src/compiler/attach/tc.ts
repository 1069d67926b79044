/**
 * tc/ingress, tc/egress: a classifier (BPF_PROG_TYPE_SCHED_CLS) on an interface named at load,
 * seeing every packet from its Ethernet header. The runtime attaches it with a tcx link where
 * the kernel has them (6.6+), else as a direct-action filter on a clsact qdisc.
 */
import type { AttachKind, Verdicts } from "./kind.js";
import { direction, directions, skbContext, type Direction } from "./skb.js";

export interface TcPoint {
  kind: "tc";
  direction: Direction;
}

/**
 * TC_ACT_UNSPEC and TCX_NEXT are both -1: "no opinion", the packet goes on to the next program
 * (tcx, then clsact filters) and passes when none decides. An observing program must not
 * decide for the others, so that is `pass`; TC_ACT_OK (= TCX_PASS) accepts the packet at once.
 */
const verdicts: Verdicts = {
  default: "pass",
  actions: {
    pass: { c: "-1 /* TC_ACT_UNSPEC, TCX_NEXT */", drops: false },
    ok: { c: "0 /* TC_ACT_OK, TCX_PASS */", drops: false },
    drop: { c: "2 /* TC_ACT_SHOT, TCX_DROP */", drops: true },
  },
};

export const tc: AttachKind<TcPoint> = {
  prefixes: ["tc"],
  targetNoun: "tc direction",
  candidates: () => directions(),
  resolve(target, ctx) {
    const d = direction("tc", target, ctx);
    return d && { kind: "tc", direction: d };
  },
  // libbpf 1.1 knows SEC("tc") only; the direction is the runtime's (AttachTarget).
  section: () => "tc",
  title: (p) => `tc/${p.direction}`,
  owner: (p) => `a tc/${p.direction} program`,
  programName: (p) => `tc_${p.direction}`,
  arguments: () => ({ kind: "none" }),
  returnValue: () => undefined,
  context: () => skbContext,
  runtime: (p) => ({ kind: "tc", direction: p.direction }),
  verdicts: () => verdicts,
  packet: () => ({ kind: "direct", ctx: "__sk_buff" }),
};
