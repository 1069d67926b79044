/**
 * USDT probes (<sys/sdt.h>'s STAP_PROBE): the `.note.stapsdt` notes a binary carries, one per
 * probe site. Each note holds the site's address, the `.stapsdt.base` address the file was
 * linked with (a prelinked or moved file shifts every address by the difference), the address
 * of the probe's semaphore (0 when it has none), and three strings: provider, name, and the
 * argument specs the assembler wrote (`-4@%edi 8@-8(%rbp) 4@$5`).
 */
import { cString, ElfError, type ElfFile, type ElfNote } from "./elf-file.js";

/** The note type of a USDT probe descriptor (owner "stapsdt"). */
export const NT_STAPSDT = 3;

/** Where an argument's value is at the probe site: the forms libbpf reads on x86-64. */
export type UsdtLocation =
  | { kind: "register"; register: string }
  /** `offset(%register)`: the value is in memory at register + offset. */
  | { kind: "memory"; register: string; offset: bigint }
  | { kind: "constant"; value: bigint }
  /** Another architecture's syntax, or a form libbpf 1.1 does not read (`sym(%rip)`, an index register). */
  | { kind: "other" };

export interface UsdtArgument {
  /** Bytes of the value: 1, 2, 4 or 8. */
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  location: UsdtLocation;
  /** As the note writes it: `-4@%edi`. */
  text: string;
}

export interface UsdtProbe {
  provider: string;
  name: string;
  /** The probe site's address, as the file was linked. */
  location: bigint;
  /** `.stapsdt.base`'s address, as the file was linked. */
  base: bigint;
  /** The semaphore's address (a 2-byte counter a probe is guarded by), 0 when it has none. */
  semaphore: bigint;
  arguments: UsdtArgument[];
}

/**
 * One argument spec, `[-]SIZE@OPERAND`: a negative size is a signed value. Throws ElfError for
 * text that is not one (a malformed note).
 */
export function parseUsdtArgument(text: string): UsdtArgument {
  const m = /^(-?)([1248])@(.+)$/.exec(text);
  if (!m) throw new ElfError(`'${text}' is not a USDT argument spec (SIZE@OPERAND, SIZE one of 1, 2, 4, 8, negative when signed)`);
  return { size: Number(m[2]) as 1 | 2 | 4 | 8, signed: m[1] === "-", location: parseLocation(m[3]!), text };
}

function parseLocation(operand: string): UsdtLocation {
  let m = /^%([a-z0-9]+)$/.exec(operand);
  if (m) return { kind: "register", register: m[1]! };
  m = /^(-?(?:0x[0-9a-f]+|[0-9]+))?\(%([a-z0-9]+)\)$/i.exec(operand);
  if (m) return { kind: "memory", register: m[2]!, offset: m[1] ? signedBigInt(m[1]) : 0n };
  m = /^\$(-?(?:0x[0-9a-f]+|[0-9]+))$/i.exec(operand);
  if (m) return { kind: "constant", value: signedBigInt(m[1]!) };
  return { kind: "other" };
}

function signedBigInt(text: string): bigint {
  return text.startsWith("-") ? -BigInt(text.slice(1)) : BigInt(text);
}

/** A probe from one stapsdt note's descriptor (64-bit: three 8-byte addresses, then the strings). */
export function parseStapsdtNote(note: ElfNote, file: string): UsdtProbe {
  const desc = note.desc;
  if (desc.length < 24 + 3) throw new ElfError(`${file} has a stapsdt note of ${desc.length} bytes, too short to describe a probe`);
  const provider = cString(desc, 24);
  const name = cString(desc, 24 + Buffer.byteLength(provider) + 1);
  const args = cString(desc, 24 + Buffer.byteLength(provider) + Buffer.byteLength(name) + 2).trim();
  return {
    provider,
    name,
    location: desc.readBigUInt64LE(0),
    base: desc.readBigUInt64LE(8),
    semaphore: desc.readBigUInt64LE(16),
    arguments: args ? args.split(/\s+/).map(parseUsdtArgument) : [],
  };
}

/** Every USDT probe site of a file, in note order (a probe inlined or repeated has several). */
export function usdtProbes(elf: ElfFile): UsdtProbe[] {
  return elf.notes(".note.stapsdt").filter((n) => n.owner === "stapsdt" && n.type === NT_STAPSDT).map((n) => parseStapsdtNote(n, elf.path));
}
