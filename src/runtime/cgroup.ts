/**
 * The cgroup v2 hierarchy: where it is mounted (found in /proc/self/mountinfo, never assumed),
 * the directories a cgroup_skb program can attach to, and a user's path checked against it.
 */
import { readdirSync, readFileSync, statSync, statfsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** The cgroup2 mount point (the first one, like libbpf's and systemd's lookups); undefined when there is none. */
export function cgroup2Mount(mountinfo = "/proc/self/mountinfo"): string | undefined {
  let text: string;
  try {
    text = readFileSync(mountinfo, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
    const [before, after] = line.split(" - ");
    if (after?.split(" ")[0] !== "cgroup2") continue;
    const mountPoint = before!.split(" ")[4];
    if (mountPoint) return mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  }
  return undefined;
}

/** Thrown for a cgroup a program cannot attach to: says what is wrong and what to do. */
export class CgroupError extends RangeError {
  override name = "CgroupError";
}

/**
 * The absolute directory `path` names in the cgroup v2 hierarchy: an absolute path inside it,
 * or a path relative to its mount ("" or "." is the root cgroup).
 */
export function resolveCgroup(path: string, mount = cgroup2Mount()): string {
  if (!mount) {
    throw new CgroupError(`cgroup '${path}': no cgroup v2 hierarchy is mounted (see /proc/self/mountinfo); ` +
      "mount one (as root): mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified");
  }
  const dir = isAbsolute(path) ? resolve(path) : resolve(mount, path);
  const inside = relative(mount, dir);
  if (inside.startsWith("..") || isAbsolute(inside)) {
    throw new CgroupError(`cgroup '${path}' is not in the cgroup v2 hierarchy, which is mounted at ${mount}: ` +
      `name a directory under it, or one relative to it (e.g. 'probegen-test' for ${join(mount, "probegen-test")}); list them with: probegen list cgroups`);
  }
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new CgroupError(`cgroup '${path}' does not exist (${dir}): create it with mkdir, or name another; list them with: probegen list cgroups`);
  }
  if (!isDir || statfsSync(dir).type !== CGROUP2_SUPER_MAGIC) {
    throw new CgroupError(`cgroup '${path}' (${dir}) is not a cgroup v2 directory: name a directory under ${mount}`);
  }
  return dir;
}

/** Every cgroup v2 directory, relative to the mount ("." is the root), parents before children. */
export function listCgroups(mount = cgroup2Mount()): string[] {
  if (!mount) return [];
  const out: string[] = ["."];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(join(mount, dir), { withFileTypes: true });
    } catch {
      return; // removed while walking, or not readable
    }
    for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = dir ? `${dir}/${e.name}` : e.name;
      out.push(child);
      walk(child);
    }
  };
  walk("");
  return out;
}
