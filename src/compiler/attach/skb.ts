/**
 * What the kinds whose programs see a `struct __sk_buff` share: the direction a target names
 * (tc/ingress, cgroup_skb/egress) and the context.
 */
import type { AttachContext, CContext } from "./kind.js";

export type Direction = "ingress" | "egress";

const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];

export function directions(): readonly Direction[] {
  return DIRECTIONS;
}

/** `ingress` or `egress`, reported otherwise (an empty target: the spec wrote `prefix` alone). */
export function direction(prefix: string, target: string, ctx: AttachContext): Direction | undefined {
  if ((DIRECTIONS as readonly string[]).includes(target)) return target as Direction;
  const what = target === "" ? `'${prefix}' names no direction` : `'${prefix}/${target}' is not a direction`;
  return ctx.fail("invalid-attach", `${what}: ${prefix} programs see traffic coming in or going out`, `write ${prefix}/ingress or ${prefix}/egress`);
}

export const skbContext: CContext = { type: "struct __sk_buff" };
