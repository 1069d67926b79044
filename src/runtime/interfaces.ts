/**
 * Network interfaces by name, as the kernel lists them in sysfs: what an XDP program attaches to
 * (`loadX({ interface: "eth0" })`), and what `probegen list interfaces` shows.
 */
import { readdirSync, readFileSync } from "node:fs";

const SYS_NET = "/sys/class/net";

export interface NetworkInterface {
  name: string;
  ifindex: number;
  /** "up", "down", "unknown" (loopback and virtual links often say unknown). */
  state: string;
}

/** Every interface of this network namespace, by index. */
export function networkInterfaces(): NetworkInterface[] {
  let names: string[];
  try {
    names = readdirSync(SYS_NET);
  } catch {
    return [];
  }
  const read = (name: string, file: string) => {
    try {
      return readFileSync(`${SYS_NET}/${name}/${file}`, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  return names
    .flatMap((name) => {
      const ifindex = Number(read(name, "ifindex"));
      return Number.isInteger(ifindex) && ifindex > 0 ? [{ name, ifindex, state: read(name, "operstate") ?? "unknown" }] : [];
    })
    .sort((a, b) => a.ifindex - b.ifindex);
}

/**
 * The index of the interface called `name`; a RangeError naming the interfaces there are when
 * there is none (a name is never a path: sysfs is read only for names listed in it).
 */
export function interfaceIndex(name: string, what: string): number {
  const all = networkInterfaces();
  const found = all.find((i) => i.name === name);
  if (!found) {
    throw new RangeError(`${what}: there is no network interface '${name}' (interfaces: ${all.map((i) => i.name).join(", ") || "none"}; see: probegen list interfaces)`);
  }
  return found.ifindex;
}

/** XDP_ATTACHED_* as words. */
export type XdpMode = "driver" | "generic" | "offload" | "multiple" | "none";

export function xdpModeName(mode: number): XdpMode {
  return (["none", "driver", "generic", "offload", "multiple"] as const)[mode] ?? "none";
}
