/**
 * A reader of 64-bit little-endian ELF files (x86-64, arm64): sections, segments, symbols and
 * notes, read from the file on demand. The compiler uses it to check uprobe symbols and USDT
 * notes at build time; the runtime, to resolve them again at load and to symbolize stacks.
 * A binary like node is ~100 MB: only the headers and the sections asked for are read.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** Not an ELF file probegen can read: the message says why, for the user. */
export class ElfError extends Error {
  override name = "ElfError";
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  filesz: number;
  memsz: bigint;
}

export type SymbolType = "notype" | "object" | "func" | "section" | "file" | "common" | "tls" | "ifunc" | "other";
export type SymbolBinding = "local" | "global" | "weak" | "other";

export interface ElfSymbol {
  name: string;
  /** The symbol's virtual address (as the file lays it out, before any load bias). */
  value: bigint;
  size: bigint;
  type: SymbolType;
  binding: SymbolBinding;
  /** Defined in this file (not an undefined import). */
  defined: boolean;
}

export interface ElfNote {
  /** The owner: "GNU", "stapsdt". */
  owner: string;
  type: number;
  desc: Buffer;
  /** The virtual address of `desc`, when the note's section is loaded (USDT notes compute addresses from it). */
  descAddr?: bigint;
}

export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const NT_GNU_BUILD_ID = 3;

const STT_GNU_IFUNC = 10;
const SYMBOL_TYPES: SymbolType[] = ["notype", "object", "func", "section", "file", "common", "tls"];
const BINDINGS: SymbolBinding[] = ["local", "global", "weak"];

/** Where the bytes come from: a file read on demand, or a buffer (a decompressed .gnu_debugdata). */
interface Source {
  read(offset: number, length: number): Buffer;
  size: number;
  close(): void;
}

function fileSource(path: string): Source {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new ElfError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const size = fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      if (offset < 0 || offset + length > size) throw new ElfError(`${path} is truncated: ${length} bytes at ${offset} are past its end`);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new ElfError(`${path} is truncated`);
        done += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

function bufferSource(buf: Buffer, what: string): Source {
  return {
    size: buf.length,
    read(offset, length) {
      if (offset < 0 || offset + length > buf.length) throw new ElfError(`${what} is truncated`);
      return buf.subarray(offset, offset + length);
    },
    close() {},
  };
}

export class ElfFile {
  readonly type: number;
  readonly machine: number;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  private symbolCache?: ElfSymbol[];

  private constructor(readonly path: string, private readonly source: Source) {
    const ident = source.read(0, Math.min(64, source.size));
    if (ident.length < 64 || ident.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`${path} is not an ELF file`);
    if (ident[4] !== 2) throw new ElfError(`${path} is a 32-bit ELF file: probegen reads 64-bit ones`);
    if (ident[5] !== 1) throw new ElfError(`${path} is a big-endian ELF file: probegen reads little-endian ones`);
    this.type = ident.readUInt16LE(16);
    this.machine = ident.readUInt16LE(18);
    const phoff = Number(ident.readBigUInt64LE(32));
    const shoff = Number(ident.readBigUInt64LE(40));
    const phentsize = ident.readUInt16LE(54);
    const phnum = ident.readUInt16LE(56);
    const shentsize = ident.readUInt16LE(58);
    let shnum = ident.readUInt16LE(60);
    let shstrndx = ident.readUInt16LE(62);

    const segments: ElfSegment[] = [];
    if (phoff && phnum) {
      const table = source.read(phoff, phentsize * phnum);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        segments.push({
          type: table.readUInt32LE(o),
          flags: table.readUInt32LE(o + 4),
          offset: Number(table.readBigUInt64LE(o + 8)),
          vaddr: table.readBigUInt64LE(o + 16),
          filesz: Number(table.readBigUInt64LE(o + 32)),
          memsz: table.readBigUInt64LE(o + 40),
        });
      }
    }
    this.segments = segments;

    const sections: ElfSection[] = [];
    if (shoff) {
      // More than 0xff00 sections: the real count and string table index live in section 0.
      const first = source.read(shoff, shentsize);
      if (shnum === 0) shnum = Number(first.readBigUInt64LE(32));
      if (shstrndx === 0xffff) shstrndx = first.readUInt32LE(40);
      const table = source.read(shoff, shentsize * shnum);
      const raw = [];
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        raw.push({
          nameOffset: table.readUInt32LE(o),
          type: table.readUInt32LE(o + 4),
          flags: table.readBigUInt64LE(o + 8),
          addr: table.readBigUInt64LE(o + 16),
          offset: Number(table.readBigUInt64LE(o + 24)),
          size: Number(table.readBigUInt64LE(o + 32)),
          link: table.readUInt32LE(o + 40),
          info: table.readUInt32LE(o + 44),
          entsize: Number(table.readBigUInt64LE(o + 56)),
        });
      }
      const names = shstrndx < raw.length ? source.read(raw[shstrndx]!.offset, raw[shstrndx]!.size) : Buffer.alloc(0);
      raw.forEach((s, index) => sections.push({ index, name: cString(names, s.nameOffset), ...s }));
    }
    this.sections = sections;
  }

  static open(path: string): ElfFile {
    const source = fileSource(path);
    try {
      return new ElfFile(path, source);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /** An ELF image in memory (`what` names it in errors). */
  static fromBuffer(buf: Buffer, what: string): ElfFile {
    return new ElfFile(what, bufferSource(buf, what));
  }

  close(): void {
    this.source.close();
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** A section's bytes (empty for SHT_NOBITS, which has none in the file). */
  read(section: ElfSection): Buffer {
    return section.type === SHT_NOBITS ? Buffer.alloc(0) : this.source.read(section.offset, section.size);
  }

  /**
   * Every symbol with a name: .symtab's, then .dynsym's not already seen (a stripped binary
   * keeps only .dynsym, its exported functions).
   */
  symbols(): readonly ElfSymbol[] {
    if (this.symbolCache) return this.symbolCache;
    const out: ElfSymbol[] = [];
    const seen = new Set<string>();
    for (const table of this.sections.filter((s) => s.type === SHT_SYMTAB || s.type === SHT_DYNSYM).sort((a, b) => b.type === SHT_SYMTAB ? 1 : a.type === SHT_SYMTAB ? -1 : 0)) {
      const strings = this.sections[table.link];
      if (!strings) continue;
      const names = this.read(strings);
      const data = this.read(table);
      const entsize = table.entsize || 24;
      for (let o = entsize; o + entsize <= data.length; o += entsize) {
        const name = cString(names, data.readUInt32LE(o));
        if (!name) continue;
        const info = data[o + 4]!;
        const shndx = data.readUInt16LE(o + 6);
        const value = data.readBigUInt64LE(o + 8);
        const key = `${name}@${value}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          name,
          value,
          size: data.readBigUInt64LE(o + 16),
          type: (info & 0xf) === STT_GNU_IFUNC ? "ifunc" : SYMBOL_TYPES[info & 0xf] ?? "other",
          binding: BINDINGS[info >> 4] ?? "other",
          defined: shndx !== 0,
        });
      }
    }
    this.symbolCache = out;
    return out;
  }

  /** Notes from SHT_NOTE sections (or PT_NOTE segments when the file has no section headers). */
  notes(sectionName?: string): ElfNote[] {
    const out: ElfNote[] = [];
    const sections = this.sections.filter((s) => s.type === SHT_NOTE && (sectionName === undefined || s.name === sectionName));
    if (sections.length > 0 || this.sections.length > 0) {
      for (const s of sections) parseNotes(this.read(s), s.addr !== 0n ? s.addr : undefined, out);
    } else {
      for (const p of this.segments.filter((p) => p.type === PT_NOTE)) parseNotes(this.source.read(p.offset, p.filesz), p.vaddr, out);
    }
    return out;
  }

  /** The GNU build id as hex, the key debuggers and symbol caches use. */
  buildId(): string | undefined {
    const note = this.notes().find((n) => n.owner === "GNU" && n.type === NT_GNU_BUILD_ID);
    return note?.desc.toString("hex");
  }

  /** The separate debug file this one names (.gnu_debuglink): its file name and CRC32. */
  debugLink(): { file: string; crc: number } | undefined {
    const section = this.section(".gnu_debuglink");
    if (!section) return undefined;
    const data = this.read(section);
    const file = cString(data, 0);
    const crcAt = (file.length + 4) & ~3;
    return { file, crc: data.length >= crcAt + 4 ? data.readUInt32LE(crcAt) : 0 };
  }

  /** Where a virtual address lives in the file, through the PT_LOAD segment that maps it. */
  fileOffset(vaddr: bigint): number | undefined {
    for (const p of this.segments) {
      if (p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + BigInt(p.filesz)) return Number(vaddr - p.vaddr) + p.offset;
    }
    return undefined;
  }

  /** The virtual address a file offset is loaded at (the inverse of fileOffset). */
  vaddrOf(offset: number): bigint | undefined {
    return vaddrOfOffset(this.segments, offset);
  }
}

/**
 * The virtual address a file offset is loaded at, through the PT_LOAD segment holding it: for
 * callers that keep a file's segments after closing it (the symbolizer's cache).
 */
export function vaddrOfOffset(segments: readonly ElfSegment[], offset: number): bigint | undefined {
  for (const p of segments) {
    if (p.type === PT_LOAD && offset >= p.offset && offset < p.offset + p.filesz) return p.vaddr + BigInt(offset - p.offset);
  }
  return undefined;
}

function parseNotes(data: Buffer, addr: bigint | undefined, out: ElfNote[]): void {
  let o = 0;
  while (o + 12 <= data.length) {
    const nameSize = data.readUInt32LE(o);
    const descSize = data.readUInt32LE(o + 4);
    const type = data.readUInt32LE(o + 8);
    const nameAt = o + 12;
    const descAt = nameAt + align4(nameSize);
    if (descAt + descSize > data.length) break;
    out.push({
      owner: cString(data.subarray(nameAt, nameAt + nameSize), 0),
      type,
      desc: data.subarray(descAt, descAt + descSize),
      descAddr: addr === undefined ? undefined : addr + BigInt(descAt),
    });
    o = descAt + align4(descSize);
  }
}

const align4 = (n: number) => (n + 3) & ~3;

/** The NUL-terminated string at `offset`. */
export function cString(buf: Buffer, offset: number): string {
  if (offset >= buf.length) return "";
  const end = buf.indexOf(0, offset);
  return buf.toString("utf8", offset, end < 0 ? buf.length : end);
}
