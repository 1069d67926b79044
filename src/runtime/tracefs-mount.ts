/**
 * Whether tracefs is mounted and readable by this process. Tracepoints are found through it: the
 * compiler reads their formats, and libbpf reads their ids when it attaches.
 */
import { statSync } from "node:fs";
import { join } from "node:path";

export type TracefsAccess =
  | { state: "readable"; root: string }
  | { state: "unreadable"; root: string }
  | { state: "unmounted" };

/** Where libbpf looks for tracefs, in its order of preference. */
export const TRACEFS_MOUNT_POINTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

export function tracefsAccess(mountPoints = TRACEFS_MOUNT_POINTS): TracefsAccess {
  let unreadable: string | undefined;
  for (const root of mountPoints) {
    try {
      statSync(join(root, "events"));
      return { state: "readable", root };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") unreadable ??= root;
    }
  }
  return unreadable ? { state: "unreadable", root: unreadable } : { state: "unmounted" };
}

/** Why tracefs cannot be used, as the start of a sentence, and what to do about it. */
export function tracefsProblem(access: TracefsAccess = tracefsAccess()): { reason: string; hint: string } {
  if (access.state === "unreadable") {
    return {
      reason: `tracefs is mounted at ${access.root} but this user may not read it (permission denied)`,
      hint: `run as root, or let other users read it: mount -o remount,mode=755 ${access.root} (as root)`,
    };
  }
  return { reason: "tracefs is not mounted", hint: "mount it (as root): mount -t tracefs tracefs /sys/kernel/tracing" };
}
