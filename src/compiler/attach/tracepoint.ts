/**
 * tracepoint/CATEGORY/NAME: a static tracepoint, its record typed by the tracefs format (and
 * checked against the kernel's BTF when there is one). sys_enter_X pairs with sys_exit_X, and
 * raw_syscalls/sys_enter with raw_syscalls/sys_exit.
 */
import { crossCheckFormat } from "../../kernel/crosscheck.js";
import { Tracefs, type TracepointFormat } from "../../kernel/tracefs.js";
import { cNames } from "../names.js";
import { closest, didYouMean } from "../suggest.js";
import { cDeclaration } from "../types.js";
import type { AttachContext, AttachKind, ContextStruct } from "./kind.js";

export interface TracepointPoint {
  kind: "tracepoint";
  category: string;
  name: string;
  format: TracepointFormat;
}

export const tracepoint: AttachKind<TracepointPoint> = {
  prefixes: ["tracepoint"],
  targetNoun: "tracepoint",
  candidates: (ctx) => tracefsOf(ctx)?.allNames(),
  resolve(target, ctx) {
    const [category, name] = target.split("/") as [string, string];
    const tracefs = tracefsOf(ctx);
    if (!tracefs) return undefined;
    const format = tracefs.format(category, name);
    if (!format) {
      const all = tracefs.allNames();
      const near = closest(`${category}/${name}`, all, 3);
      const byName = near.length ? near : all.filter((n) => n.endsWith(`/${name}`)).slice(0, 3);
      return ctx.fail("unknown-tracepoint", `the kernel has no tracepoint '${category}/${name}'.${byName.length ? didYouMean(`${category}/${name}`, byName) || ` Did you mean '${byName[0]}'?` : ""}`,
        "list them with: probegen list tracepoints, or ls /sys/kernel/tracing/events/CATEGORY/");
    }
    const btf = ctx.crossCheckBtf?.();
    const m = btf ? crossCheckFormat(btf, format)[0] : undefined;
    if (m) {
      return ctx.fail("layout-mismatch", `tracefs and the kernel's BTF disagree about ${category}/${name}: '${m.field}' is at offset ${m.tracefsOffset} in the format but ${m.btfOffset} in struct trace_event_raw_${name}`,
        "the tracepoint formats and the BTF come from different kernels: build on the kernel you target, or give its BTF with --btf");
    }
    return { kind: "tracepoint", category, name, format };
  },
  section: (p) => `tracepoint/${p.category}/${p.name}`,
  title: (p) => `tracepoint ${p.category}/${p.name}`,
  owner: (p) => `tracepoint ${p.category}/${p.name}`,
  programName: (p) => p.name,
  arguments: (p) => ({ kind: "record", format: p.format }),
  returnValue(p) {
    const field = p.format.fields.find((f) => f.name === "ret");
    return field && { kind: "field", field };
  },
  isExit: true,
  exitOf(entry: TracepointPoint, ctx: AttachContext) {
    // syscalls/sys_enter_X returns at sys_exit_X; raw_syscalls/sys_enter (every syscall) at sys_exit.
    if (entry.category === "raw_syscalls" && entry.name === "sys_enter") return tracepoint.resolve("raw_syscalls/sys_exit", ctx);
    if (!entry.name.startsWith("sys_enter_")) return null;
    return tracepoint.resolve(`${entry.category}/sys_exit_${entry.name.slice("sys_enter_".length)}`, ctx);
  },
  context: (p) => ({ type: `struct ${cNames.tracepointContext(p.category, p.name)}`, struct: contextStruct(p.format) }),
  runtime: (p) => ({ kind: "tracepoint", category: p.category, name: p.name }),
};

function tracefsOf(ctx: AttachContext): Tracefs | undefined {
  const tracefs = ctx.tracefs();
  if (tracefs) return tracefs;
  const { reason, hint } = Tracefs.problem();
  return ctx.fail("no-tracefs", `${reason}, so tracepoint formats cannot be read`, hint);
}

/** The tracepoint record as a struct, fields placed at tracefs's offsets with explicit padding. */
function contextStruct(format: TracepointFormat): ContextStruct {
  const cName = cNames.tracepointContext(format.category, format.name);
  const members: Array<{ decl: string }> = [];
  const asserts: string[] = [];
  let at = 0;
  let pad = 0;
  for (const f of [...format.fields].sort((a, b) => a.offset - b.offset)) {
    if (f.offset < at) continue; // overlapping fields (unions) are not read by us
    if (f.offset > at) members.push({ decl: `__u8 pg_pad${pad++}[${f.offset - at}]` });
    const storage =
      f.access.kind === "char_array" ? `char ${f.name}[${f.size}]`
      : f.access.kind === "array" ? cDeclaration(f.access.type, f.name)
      : f.size === 1 || f.size === 2 || f.size === 4 || f.size === 8 ? `__${f.signed ? "s" : "u"}${f.size * 8} ${f.name}`
      : `__u8 ${f.name}[${f.size}]`;
    members.push({ decl: storage });
    asserts.push(`_Static_assert(__builtin_offsetof(struct ${cName}, ${f.name}) == ${f.offset}, "tracefs format: ${format.category}/${format.name} ${f.name}");`);
    at = f.offset + f.size;
  }
  return { cName, title: `tracepoint ${format.category}/${format.name}`, members, asserts };
}
