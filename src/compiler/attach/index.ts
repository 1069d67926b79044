/**
 * The attach kinds, and what the compiler asks of an attach point through them. Adding a kind
 * is writing its module and adding it to `attachKinds` (and to the schema's attach pattern,
 * which a test keeps in step with this list).
 */
import { fentry, fexit } from "./fentry.js";
import type { AttachContext, AttachKind } from "./kind.js";
import { kprobe, kretprobe } from "./kprobe.js";
import { rawTracepoint } from "./raw-tracepoint.js";
import { tpBtf } from "./tp-btf.js";
import { tracepoint } from "./tracepoint.js";

export const attachKinds = [tracepoint, kprobe, kretprobe, fentry, fexit, tpBtf, rawTracepoint] as const;

type PointOf<K> = K extends AttachKind<infer P> ? P : never;

/** Where a program attaches, resolved against the kernel: one of the kinds' points. */
export type AttachPoint = PointOf<(typeof attachKinds)[number]>;

export type { Arguments, AttachContext, AttachKind, CContext, ContextStruct, ReturnValue } from "./kind.js";

/** The module of a point's kind (a point's kind is its module's canonical prefix). */
export function attachKind(point: AttachPoint): AttachKind<AttachPoint> {
  const kind = attachKinds.find((k) => k.prefixes[0] === point.kind);
  if (!kind) throw new Error(`no attach kind '${point.kind}'`);
  return kind as AttachKind<never> as AttachKind<AttachPoint>;
}

/** `kprobe/do_sys_openat2`, `tracepoint/syscalls/sys_enter_openat`, ... checked against the kernel. */
export function resolveAttach(text: string, ctx: AttachContext): AttachPoint | undefined {
  const slash = text.indexOf("/");
  const prefix = slash < 0 ? text : text.slice(0, slash);
  const kind = attachKinds.find((k) => k.prefixes.includes(prefix));
  if (!kind) {
    return ctx.fail("unknown-attach", `probegen cannot attach to '${text}'`, `use one of: ${attachKinds.map((k) => `${k.prefixes[0]}/...`).join(", ")}`);
  }
  return (kind as AttachKind<AttachPoint>).resolve(text.slice(slash + 1), ctx);
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
