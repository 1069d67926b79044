// Loads probegen_native.node (built by `node-gyp rebuild` into build/Release)
// lazily, so importing the runtime for its types and codecs needs no addon.
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

const ADDON = join("build", "Release", "probegen_native.node");

/** Finds the package root from src/runtime (vitest) or dist/src/runtime (tsc output). */
function addonPath(): string {
  const override = process.env.PROBEGEN_NATIVE;
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    `probegen: native addon ${ADDON} not found above ${fileURLToPath(import.meta.url)}; ` +
      "build it with `npm rebuild probegen` in your app (`npm run install` in a probegen clone): " +
      "node-gyp rebuild, which needs g++, make, pkg-config and libbpf-dev",
  );
}

let cached: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!cached) {
    const addon = createRequire(import.meta.url)(addonPath()) as NativeAddon;
    addon.init(makeNativeError); // native code throws errors built by errors.ts
    cached = addon;
  }
  return cached;
}
