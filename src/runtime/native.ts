// Loads the addon probegen_native.node lazily, so importing the runtime for its types and
// codecs needs none. node-gyp-build picks it the usual way: build/Release (built from source)
// before prebuilds/<platform>-<arch>/ (the prebuilt addon @probegen/runtime ships).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { makeNativeError } from "./errors.js";
import type { AttachTarget } from "./object.js";

export interface NativeProgram { name: string; section: string; type: string }
export interface NativeMapInfo {
  name: string; type: string; keySize: number; valueSize: number; maxEntries: number; fd: number;
  /** BPF_F_* map flags. */
  flags: number;
  /** Where libbpf pins (or reuses) the map; null when it is not pinned. */
  pinPath: string | null;
}
/** A map pinned in bpffs, as the kernel describes it. */
export type NativePinnedMap = Pick<NativeMapInfo, "type" | "keySize" | "valueSize" | "maxEntries" | "flags">;
export interface NativeProgramInfo {
  name: string; fd: number; id: number; runCount: bigint; runTimeNs: bigint; xlatedInsns: number; jitedBytes: number;
}
/** (batch, byteLength) for records; (null, errno) when the drain thread failed. */
export type NativeBatchCallback = (batch: ArrayBuffer | null, lengthOrErrno: number) => void;

export interface NativeRingReader {
  start(): void; pause(): void; ref(): void; unref(): void;
  drain(): number; // synchronous drain; bytes delivered through the callback
  close(): void;
}

export interface NativeObject {
  programs(): NativeProgram[];
  maps(): NativeMapInfo[]; // index = map index for the map* methods
  setMaxEntries(map: string, n: number): void;
  setRodata(bytes: Uint8Array): void;
  load(): void;
  /** bpf_object__load on the thread pool; other calls throw EBUSY until it settles. */
  loadAsync(): Promise<void>;
  /** Without a target, libbpf attaches the program by its SEC(); mode: how (a tc program: "tcx" or "clsact"; an sk_msg program: "map", attached to its sockmap). */
  attach(program: string, target?: AttachTarget): { mode: "link" | "tcx" | "clsact" | "map" };
  /** SO_ATTACH_BPF of the program on the socket fd. */
  attachSocket(program: string, fd: number): void;
  /** SO_DETACH_BPF: the socket's filter removed (none is no error). */
  detachSocket(fd: number): void;
  detach(link: number): void;
  /** XDP_ATTACHED_* of the XDP program on interface `ifindex` (0 none, 1 driver, 2 generic, 3 offload, 4 several). */
  xdpMode(ifindex: number): number;
  programInfo(): NativeProgramInfo[];
  openRingBuffer(map: number, onBatch: NativeBatchCallback, drainIntervalMs: number, stagingBytes: number): NativeRingReader;
  close(): void;
  mapLookup(map: number, key: Uint8Array, value: Uint8Array): boolean;
  mapUpdate(map: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapDelete(map: number, key: Uint8Array): boolean;
  mapNextKey(map: number, key: Uint8Array | null, next: Uint8Array): boolean;
  /** One BPF_MAP_LOOKUP_BATCH; count from keys.length / keySize; done = ENOENT (no more entries). */
  mapLookupBatch(map: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array): { count: number; done: boolean };
  /** One BPF_MAP_DELETE_BATCH; returns how many keys (from the start) were deleted, stopping at an absent one. */
  mapDeleteBatch(map: number, keys: Uint8Array): number;
}

export interface NativeAddon {
  init(makeError: (operation: string, errno: number, message: string, extra?: Record<string, unknown>) => Error): void;
  /** pinRoot: the directory of pinned maps (libbpf's pin_root_path); default /sys/fs/bpf. */
  BpfObject: new (bytes: Uint8Array, name: string, pinRoot?: string) => NativeObject;
  /** The map pinned at `path`, or null when nothing is pinned there. */
  pinnedMapInfo(path: string): NativePinnedMap | null;
  libbpfVersion: string;
  /** CLOCK_REALTIME minus `clock`, from the closest of many back-to-back reads: [offset ns, gap ns]. */
  clockOffset(clock: "monotonic" | "boottime"): [bigint, bigint];
}

const require = createRequire(import.meta.url);
const nodeGypBuild = require("node-gyp-build") as { resolve(dir: string): string };

/**
 * The directory whose build/ or prebuilds/ holds the addon: the nearest above this module (a
 * clone of probegen; the installed @probegen/runtime), else @probegen/runtime's (the CLI of an
 * installed probegen runs its own copy of the runtime, without an addon of its own).
 */
function addonDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "build", "Release", "probegen_native.node")) || existsSync(join(dir, "prebuilds"))) return dir;
    dir = dirname(dir);
  }
  try {
    return dirname(require.resolve("@probegen/runtime/package.json"));
  } catch {
    return dirname(fileURLToPath(import.meta.url)); // named in the error below
  }
}

function addonPath(): string {
  const override = process.env.PROBEGEN_NATIVE;
  if (override) return override;
  const dir = addonDir();
  try {
    return nodeGypBuild.resolve(dir);
  } catch {
    throw new Error(
      `probegen: no native addon for ${process.platform}-${process.arch} in ${dir} (neither a prebuilt one in prebuilds/ ` +
        "nor one built from source in build/Release): build it with `npm rebuild @probegen/runtime` in your app, " +
        "which says what it needs (g++, make, pkg-config, libbpf-dev); in a clone of probegen, `npm run build:native`",
    );
  }
}

let cached: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!cached) {
    const addon = require(addonPath()) as NativeAddon;
    addon.init(makeNativeError); // native code throws errors built by errors.ts
    cached = addon;
  }
  return cached;
}
