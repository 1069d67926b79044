/**
 * Just enough ELF64 to find one section by name (clang's .BTF in a BPF object). Section data is
 * returned as a view into the file's bytes, not a copy.
 */
import { BtfError } from "./types.js";

export function elfSection(file: Uint8Array, name: string): Uint8Array | undefined {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < 64 || dv.getUint32(0, false) !== 0x7f454c46) throw new BtfError("not an ELF file");
  if (file[4] !== 2) throw new BtfError("not a 64-bit ELF file (only ELF64 is read)");
  const le = file[5] === 1;
  const shoff = Number(dv.getBigUint64(0x28, le));
  const shentsize = dv.getUint16(0x3a, le);
  let shnum = dv.getUint16(0x3c, le);
  let shstrndx = dv.getUint16(0x3e, le);
  if (shoff === 0) return undefined;
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    if (at + 64 > file.byteLength) throw new BtfError(`ELF section header ${i} lies outside the file`);
    return at;
  };
  // More than 0xff00 sections: the real counts live in section 0 (ELF's extended numbering).
  if (shnum === 0) shnum = Number(dv.getBigUint64(header(0) + 32, le));
  if (shstrndx === 0xffff) shstrndx = dv.getUint32(header(0) + 40, le);
  const strtab = Number(dv.getBigUint64(header(shstrndx) + 24, le));
  const wanted = new TextEncoder().encode(name);
  for (let i = 1; i < shnum; i++) {
    const at = header(i);
    const nameAt = strtab + dv.getUint32(at, le);
    if (!sameCString(file, nameAt, wanted)) continue;
    if (dv.getUint32(at + 4, le) === 8) return new Uint8Array(0); // SHT_NOBITS
    const offset = Number(dv.getBigUint64(at + 24, le));
    const size = Number(dv.getBigUint64(at + 32, le));
    if (offset + size > file.byteLength) throw new BtfError(`ELF section ${name} lies outside the file`);
    return file.subarray(offset, offset + size);
  }
  return undefined;
}

function sameCString(file: Uint8Array, at: number, wanted: Uint8Array): boolean {
  if (at + wanted.length >= file.byteLength) return false;
  for (let i = 0; i < wanted.length; i++) if (file[at + i] !== wanted[i]) return false;
  return file[at + wanted.length] === 0;
}
