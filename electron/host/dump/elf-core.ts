/**
 * DOC: ELF core reader
 *
 * A memory dump as QEMU's `dump-guest-memory` (format elf), a kdump /proc/vmcore or KHO Lab's own
 * vmcore export writes it: an ELF64 little-endian ET_CORE file whose PT_LOAD program headers say
 * which file bytes hold which physical memory (p_paddr), and whose PT_NOTE segments hold ELF notes
 * (NT_PRSTATUS per CPU, QEMU's register notes, the kernel's VMCOREINFO text). Layout per the ELF
 * gABI and include/uapi/linux/elf.h; the kernel writes its own with fs/proc/vmcore.c and
 * kernel/crash_core.c. Everything is bounds-checked against the file: a hostile header gets a
 * DumpError naming the field, never a huge allocation or a read past the end.
 */
import { hex } from '../../../shared/units';
import { getU16, getU32, getU64 } from '../../kernel/abi/bytes';
import { DumpError, type DumpSource, asciiz, readExact } from './source';

const ELF_HEADER_SIZE = 64;
const PHDR_SIZE = 56;
const ET_CORE = 4;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
/** e_phnum's escape: the real count is in section header 0's sh_info (ELF gABI "Extended numbering"). */
const PN_XNUM = 0xffff;
/** Bounds that no real core reaches: more means a corrupt header. */
const MAX_PHDRS = 1 << 20;
const MAX_NOTE_BYTES = 64 << 20;

/** One PT_LOAD: physical memory [paddr, paddr + memsz); the first filesz bytes are in the file at offset. */
export interface LoadSegment {
  paddr: number;
  vaddr: bigint;
  offset: number;
  filesz: number;
  memsz: number;
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export interface ElfCore {
  /** e_machine (62 = EM_X86_64). */
  machine: number;
  loads: LoadSegment[];
  notes: ElfNote[];
}

const u64 = (b: Uint8Array, off: number, what: string): number => {
  const v = getU64(b, off);
  if (Number.isNaN(v)) throw new DumpError(`corrupt ELF: ${what} is beyond any physical address or file offset`);
  return v;
};

/** Reads the ELF header, the program headers and the notes; the memory itself stays in the file. */
export function readElfCore(src: DumpSource): ElfCore {
  if (src.size < ELF_HEADER_SIZE)
    throw new DumpError(`not an ELF core: the file has ${src.size} bytes, less than an ELF header`);
  const eh = readExact(src, 0, ELF_HEADER_SIZE, 'the ELF header');
  if (eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46)
    throw new DumpError('not an ELF file: no \\x7fELF magic at offset 0');
  if (eh[4] !== 2) throw new DumpError(`ELF class ${eh[4]}: only 64-bit (ELFCLASS64) cores are read`);
  if (eh[5] !== 1) throw new DumpError(`ELF data encoding ${eh[5]}: only little-endian (ELFDATA2LSB) cores are read`);
  const type = getU16(eh, 16);
  if (type !== ET_CORE) throw new DumpError(`ELF type ${type} is not a core file (ET_CORE = ${ET_CORE})`);
  const machine = getU16(eh, 18);
  const phoff = u64(eh, 32, 'e_phoff');
  const shoff = u64(eh, 40, 'e_shoff');
  const phentsize = getU16(eh, 54);
  let phnum = getU16(eh, 56);
  if (phnum === PN_XNUM) {
    // sh_info of section header 0 (offset 44 in an Elf64_Shdr) carries the real count.
    phnum = getU32(readExact(src, shoff, 64, 'section header 0 (extended e_phnum)'), 44);
  }
  if (phnum === 0) throw new DumpError('ELF core has no program headers: no memory in it');
  if (phentsize !== PHDR_SIZE) throw new DumpError(`e_phentsize is ${phentsize}, not ${PHDR_SIZE} (Elf64_Phdr)`);
  if (phnum > MAX_PHDRS) throw new DumpError(`e_phnum ${phnum} is implausible (more than ${MAX_PHDRS})`);
  const ph = readExact(src, phoff, phnum * PHDR_SIZE, `${phnum} program headers`);
  const loads: LoadSegment[] = [];
  const notes: ElfNote[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * PHDR_SIZE;
    const pType = getU32(ph, o);
    if (pType !== PT_LOAD && pType !== PT_NOTE) continue;
    const offset = u64(ph, o + 8, `p_offset of program header ${i}`);
    const filesz = u64(ph, o + 32, `p_filesz of program header ${i}`);
    if (offset + filesz > src.size) {
      throw new DumpError(
        `truncated dump: program header ${i} needs file bytes up to ${hex(offset + filesz)} but the file has ${hex(src.size)}`,
      );
    }
    if (pType === PT_NOTE) {
      if (filesz > MAX_NOTE_BYTES) throw new DumpError(`PT_NOTE ${i} is ${filesz} bytes, implausibly large`);
      notes.push(...parseNotes(readExact(src, offset, filesz, `PT_NOTE ${i}`), i));
      continue;
    }
    const paddr = u64(ph, o + 24, `p_paddr of program header ${i}`);
    const memsz = u64(ph, o + 40, `p_memsz of program header ${i}`);
    if (filesz > memsz)
      throw new DumpError(`program header ${i}: p_filesz ${hex(filesz)} exceeds p_memsz ${hex(memsz)}`);
    if (memsz === 0) continue;
    const vaddr = (BigInt(getU32(ph, o + 20)) << 32n) | BigInt(getU32(ph, o + 16));
    loads.push({ paddr, vaddr, offset, filesz, memsz });
  }
  if (loads.length === 0) throw new DumpError('ELF core has no PT_LOAD segments: no memory in it');
  return { machine, loads, notes };
}

const align4 = (n: number) => (n + 3) & ~3;

/** Elf64_Nhdr records: namesz, descsz, type, then name and desc each padded to 4 bytes. */
export function parseNotes(b: Uint8Array, segment = 0): ElfNote[] {
  const out: ElfNote[] = [];
  for (let o = 0; o + 12 <= b.length;) {
    const namesz = getU32(b, o);
    const descsz = getU32(b, o + 4);
    const type = getU32(b, o + 8);
    const nameAt = o + 12;
    const descAt = nameAt + align4(namesz);
    const end = descAt + align4(descsz);
    if (descAt + descsz > b.length || end < o)
      throw new DumpError(`corrupt ELF note at offset ${o} of PT_NOTE ${segment}: its sizes run past the segment`);
    out.push({ name: asciiz(b.subarray(nameAt, nameAt + namesz)), type, desc: b.subarray(descAt, descAt + descsz) });
    o = end;
  }
  return out;
}
