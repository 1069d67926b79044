/**
 * Pinned maps (`pinned: true` in a spec) live in bpffs under the probe's own directory,
 * /sys/fs/bpf/probegen/PROBE/MAP, so two probes with a map of the same name never share it
 * unknowingly (libbpf's default would be /sys/fs/bpf/MAP for every probe). A pin left by an
 * earlier load is reused only when it is the same kind of map; otherwise the load stops
 * naming the map, the pin and what differs.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

import { BpfError } from "./errors.js";
import { native, type NativeMapInfo, type NativePinnedMap } from "./native.js";

export const PIN_ROOT = "/sys/fs/bpf/probegen";

/** The directory the probe's pinned maps live in (libbpf's pin_root_path). */
export function pinDirectory(probe: string): string {
  return `${PIN_ROOT}/${probe}`;
}

/**
 * Before load: creates the directory of each pinned map and checks a pin already there
 * against the map as it will be created (after size overrides). libbpf then reuses or pins.
 */
export function preparePins(probe: string, maps: readonly NativeMapInfo[]): void {
  for (const map of maps) {
    if (!map.pinPath) continue;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(probe)) {
      throw new BpfError({
        operation: "map.pin", errno: 22, map: map.name, object: probe,
        detail: `cannot pin map '${map.name}': the probe name '${probe}' is not a directory name (letters, digits, _ . -)`,
      });
    }
    try {
      mkdirSync(dirname(map.pinPath), { recursive: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const denied = e.code === "EACCES" || e.code === "EPERM";
      throw new BpfError({
        operation: "map.pin", errno: -(e.errno ?? -1), map: map.name, object: probe, cause: err,
        detail: `cannot create ${dirname(map.pinPath)} for pinned map '${map.name}'` +
          (denied ? "" : " (is bpffs mounted at /sys/fs/bpf? mount -t bpf bpf /sys/fs/bpf)"),
      });
    }
    const pinned = native().pinnedMapInfo(map.pinPath);
    const differences = pinned ? differ(map, pinned) : [];
    if (differences.length) {
      throw new BpfError({
        operation: "map.pin", errno: 22, map: map.name, object: probe,
        detail: `map '${map.name}' is pinned at ${map.pinPath} by an earlier load, but that map differs from this one: ` +
          `${differences.join(", ")}; remove the pin to start afresh (rm ${map.pinPath}), or load the spec that pinned it`,
      });
    }
  }
}

/** What differs, as "key size 8 bytes here, 4 bytes pinned". */
function differ(map: NativeMapInfo, pinned: NativePinnedMap): string[] {
  const out: string[] = [];
  if (map.type !== pinned.type) out.push(`type ${map.type} here, ${pinned.type} pinned`);
  if (map.keySize !== pinned.keySize) out.push(`key size ${map.keySize} bytes here, ${pinned.keySize} pinned`);
  if (map.valueSize !== pinned.valueSize) out.push(`value size ${map.valueSize} bytes here, ${pinned.valueSize} pinned`);
  if (map.maxEntries !== pinned.maxEntries) out.push(`max_entries ${map.maxEntries} here, ${pinned.maxEntries} pinned`);
  if (map.flags !== pinned.flags) out.push(`map flags 0x${map.flags.toString(16)} here, 0x${pinned.flags.toString(16)} pinned`);
  return out;
}
