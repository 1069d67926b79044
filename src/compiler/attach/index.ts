/**
 * The attach kinds, and what the compiler asks of an attach point through them. Adding a kind
 * is writing its module and adding it to `attachKinds` (and to the schema's attach pattern,
 * which a test keeps in step with this list).
 */
import { cgroupSkb } from "./cgroup-skb.js";
import { fentry, fexit } from "./fentry.js";
import { BraceError, expandBraces, globMatcher, isGlob } from "./glob.js";
import type { AttachContext, AttachKind } from "./kind.js";
import { kprobe, kretprobe } from "./kprobe.js";
import { interval, profile } from "./perf-event.js";
import { rawTracepoint } from "./raw-tracepoint.js";
import { socketFilter } from "./socket-filter.js";
import { tc } from "./tc.js";
import { skMsg } from "./sk-msg.js";
import { tpBtf } from "./tp-btf.js";
import { tracepoint } from "./tracepoint.js";
import { uprobe, uretprobe } from "./uprobe.js";
import { usdt } from "./usdt.js";
import { xdp } from "./xdp.js";
import { closest } from "../suggest.js";

export const attachKinds = [tracepoint, kprobe, kretprobe, fentry, fexit, tpBtf, rawTracepoint, xdp, tc, cgroupSkb, socketFilter, skMsg, uprobe, uretprobe, usdt, profile, interval] as const;

type PointOf<K> = K extends AttachKind<infer P> ? P : never;

/** Where a program attaches, resolved against the kernel: one of the kinds' points. */
export type AttachPoint = PointOf<(typeof attachKinds)[number]>;

export type { Arguments, AttachContext, AttachKind, CContext, ContextField, ContextStruct, PacketAccess, ReturnValue, Verdicts } from "./kind.js";

/** The module of a point's kind (a point's kind is its module's canonical prefix). */
export function attachKind(point: AttachPoint): AttachKind<AttachPoint> {
  const kind = attachKinds.find((k) => k.prefixes[0] === point.kind);
  if (!kind) throw new Error(`no attach kind '${point.kind}'`);
  return kind as AttachKind<never> as AttachKind<AttachPoint>;
}

/** The kind an attach text names by its prefix, reported when there is none. */
function kindOf(text: string, ctx: AttachContext): { kind: AttachKind<AttachPoint>; target: string } | undefined {
  const slash = text.indexOf("/");
  const prefix = slash < 0 ? text : text.slice(0, slash);
  const kind = attachKinds.find((k) => k.prefixes.includes(prefix));
  if (!kind) {
    return ctx.fail("unknown-attach", `probegen cannot attach to '${text}'`, `use one of: ${attachKinds.map((k) => `${k.prefixes[0]}/...`).join(", ")}`);
  }
  return { kind: kind as AttachKind<AttachPoint>, target: slash < 0 ? "" : text.slice(slash + 1) };
}

/** `kprobe/do_sys_openat2`, `tracepoint/syscalls/sys_enter_openat`, ... checked against the kernel. */
export function resolveAttach(text: string, ctx: AttachContext): AttachPoint | undefined {
  const found = kindOf(text, ctx);
  return found && found.kind.resolve(found.target, ctx);
}

/** More programs than this from one spec entry is a mistake (or wants kprobe_multi, which probegen lacks). */
export const MAX_MATCHES = 1024;

/**
 * The attach texts a pattern names: brace lists expanded, globs matched against what the
 * kernel offers (each kind lists its candidates), in sorted order without repeats; undefined
 * after a failure it reported. A glob that matches nothing is an error with the globs near it.
 */
export function expandAttach(pattern: string, ctx: AttachContext): string[] | undefined {
  let alternatives: string[];
  try {
    alternatives = expandBraces(pattern);
  } catch (e) {
    if (e instanceof BraceError) return ctx.fail("invalid-attach", e.message, "write a brace list as {a,b,c}, e.g. tracepoint/sched/sched_process_{exec,exit}");
    throw e;
  }
  const out = new Set<string>();
  for (const text of alternatives) {
    if (!isGlob(text)) {
      out.add(text);
      continue;
    }
    const found = kindOf(text, ctx);
    if (!found) return undefined;
    const { kind, target } = found;
    if (!text.includes("/")) return ctx.fail("invalid-attach", `'${text}' names no target to match`, `write ${kind.prefixes[0]}/PATTERN`);
    const candidates = kind.candidates(ctx, target);
    if (!candidates) return undefined;
    const all = [...candidates];
    const hits = all.filter(globMatcher(target));
    if (hits.length === 0) {
      const near = nearGlobs(target, all).map((g) => `'${kind.prefixes[0]}/${g}'`);
      return ctx.fail("no-match", `'${text}' matches no ${kind.targetNoun}.${near.length ? ` Did you mean ${near.join(" or ")}?` : ""}`,
        `see what a pattern matches with: probegen list '${kind.prefixes[0]}/PATTERN'`);
    }
    for (const hit of hits) out.add(`${kind.prefixes[0]}/${hit}`);
  }
  if (out.size > MAX_MATCHES) {
    return ctx.fail("too-many-matches", `'${pattern}' matches ${out.size} attach points; one program attaches to at most ${MAX_MATCHES}`, "narrow the pattern");
  }
  return [...out].sort();
}

/** A glob like `glob` with its literal start corrected to the nearest one the candidates have, if it matches. */
function nearGlobs(glob: string, candidates: string[]): string[] {
  const literal = glob.slice(0, glob.search(/[*?[]/));
  if (!literal) return [];
  const starts = new Set<string>();
  for (const c of candidates) for (let n = literal.length - 2; n <= literal.length + 2; n++) if (n > 0) starts.add(c.slice(0, n));
  const near = closest(literal, starts, 1).map((start) => start + glob.slice(literal.length));
  return near.filter((g) => candidates.some(globMatcher(g)));
}

/**
 * The exit half of a pair: the one `exit:` names, or for `exit: true` the one the entry's kind
 * knows. A named exit must be that one too (kretprobe/F for kprobe/F, fexit/F for fentry/F,
 * sys_exit_X for sys_enter_X): the stash between the halves is keyed by thread, which only
 * matches an entry with its own call's return.
 */
export function resolveExit(entry: AttachPoint, exit: true | string, ctx: AttachContext): AttachPoint | undefined {
  const kind = attachKind(entry);
  if (exit !== true) {
    const point = resolveAttach(exit, ctx);
    if (!point) return undefined;
    if (!attachKind(point).isExit) {
      const exits = attachKinds.filter((k) => k.isExit).map((k) => k.prefixes[0]);
      return ctx.fail("invalid-exit", `an exit is one of: ${exits.join(", ")}`, attachKind(point).exitHint?.(point));
    }
    // The entry's own exit, looked up quietly: when there is none, the error below says so.
    const own = kind.exitOf?.(entry, { ...ctx, fail: () => undefined });
    const section = attachKind(point).section(point);
    if (own && attachKind(own).section(own) === section) return point;
    return ctx.fail("unpaired-exit", `${section} is not the return of ${kind.section(entry)}: an exit must be the same call's return (entry and exit are matched by thread)`,
      own ? `use exit: ${attachKind(own).section(own)} (or exit: true)` : BETWEEN_EVENTS);
  }
  const found = kind.exitOf?.(entry, ctx);
  if (found !== undefined && found !== null) return found;
  if (found === undefined && kind.exitOf) return undefined;
  return ctx.fail("invalid-exit", `probegen cannot tell the exit of ${kind.section(entry)}`,
    "name it: exit: tracepoint/CATEGORY/NAME or exit: kretprobe/FUNCTION (exit: true works for kprobes and sys_enter_* tracepoints)");
}

/** How to measure between two events that are not a call and its return. */
const BETWEEN_EVENTS = "to measure between two different events, store a timestamp in a map in one program and read it in the other with `start[key]` (see docs/spec.md#maps-in-expressions)";
