/**
 * xdp: a program on an interface's receive path, before the kernel allocates an skb. It reads
 * the packet directly (xdp_md's data .. data_end, from the Ethernet header) and returns a
 * verdict. The interface is not part of the spec: the loader names it (`loadX({ interface })`,
 * `probegen run --interface`), and the runtime attaches a bpf_link there.
 */
import type { AttachKind } from "./kind.js";

export interface XdpPoint {
  kind: "xdp";
}

export const xdp: AttachKind<XdpPoint> = {
  prefixes: ["xdp"],
  targetNoun: "XDP hook",
  candidates: () => [],
  resolve(target, ctx) {
    if (target !== "") {
      return ctx.fail("invalid-attach", `xdp takes no target ('xdp/${target}'): the interface is chosen when the probe is loaded`,
        "write attach: xdp, and name the interface at load: loadX({ interface: \"eth0\" }) or probegen run --interface eth0");
    }
    return { kind: "xdp" };
  },
  section: () => "xdp",
  title: () => "xdp",
  owner: () => "an xdp program",
  programName: () => "xdp_prog",
  arguments: () => ({ kind: "none" }),
  returnValue: () => undefined,
  context: () => ({ type: "struct xdp_md" }),
  runtime: () => ({ kind: "xdp" }),
  verdicts: () => ({
    default: "pass",
    actions: {
      pass: { c: "XDP_PASS", drops: false },
      drop: { c: "XDP_DROP", drops: true },
      tx: { c: "XDP_TX", drops: true },
      aborted: { c: "XDP_ABORTED", drops: true },
    },
  }),
  packet: () => ({ kind: "direct", ctx: "xdp_md" }),
};
