#!/usr/bin/python3
"""Reads KHO's handoff out of a KHO Lab vmcore with the kernel engineer's own tools.

usage: /usr/bin/python3 test/vmcore/read_kho.py VMCORE

Opens the core with drgn (drgn.Program().set_core_dump), finds the KHO root FDT's address in
the VMCOREINFO note, reads the FDT from physical memory through drgn, parses it with libfdt,
follows preserved-memory-map through the kho-v1 chunk list and its bitmaps, and prints JSON:
  {"vmcoreinfo": {...}, "fdt_phys", "fdt_size", "compatible", "preserved_memory_map",
   "subnodes": [{"name", "fdt"}], "blocks": [{"phys", "order"}]}
drgn 0.0.22 does not expose VMCOREINFO without debug info, so the note is read from the ELF file.
"""
import json
import struct
import sys

import drgn
import libfdt

PAGE_SIZE = 4096
PT_NOTE = 4


def vmcoreinfo(path):
    """The VMCOREINFO note of an ELF64 LE core, as a dict of its KEY=VALUE lines."""
    with open(path, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF":
            raise SystemExit(f"{path}: not an ELF file")
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
            if p_type != PT_NOTE:
                continue
            f.seek(p_offset)
            notes = f.read(p_filesz)
            off = 0
            while off + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, off)
                name = notes[off + 12:off + 12 + namesz].rstrip(b"\0").decode()
                doff = off + 12 + ((namesz + 3) & ~3)
                desc = notes[doff:doff + descsz]
                off = doff + ((descsz + 3) & ~3)
                if name == "VMCOREINFO" and ntype == 0:
                    return dict(line.split("=", 1) for line in desc.decode().splitlines() if "=" in line)
    raise SystemExit(f"{path}: no VMCOREINFO note")


def u64(b, off=0):
    return struct.unpack_from("<Q", b, off)[0]


def blocks_from_map(prog, first_chunk):
    """kho-v1: a list of khoser_mem_chunk pages; bit b of a bitmap = block at phys_start + b * (PAGE_SIZE << order)."""
    blocks, chunk, seen = [], first_chunk, set()
    while chunk and chunk not in seen:
        seen.add(chunk)
        page = prog.read(chunk, PAGE_SIZE, True)
        nxt, order, n = u64(page, 0), *struct.unpack_from("<II", page, 8)
        for i in range(n):
            phys_start, bitmap = u64(page, 16 + 16 * i), u64(page, 24 + 16 * i)
            bits = prog.read(bitmap, PAGE_SIZE, True)
            for byte_index, byte in enumerate(bits):
                for bit in range(8):
                    if byte & (1 << bit):
                        blocks.append({"phys": phys_start + (byte_index * 8 + bit) * (PAGE_SIZE << order), "order": order})
        chunk = nxt
    return sorted(blocks, key=lambda b: (b["phys"], b["order"]))


def main(path):
    info = vmcoreinfo(path)
    prog = drgn.Program()
    prog.set_core_dump(path)
    fdt_phys = int(info["KHO_FDT_PHYS"], 16)
    fdt_size = int(info["KHO_FDT_SIZE"])
    header = prog.read(fdt_phys, 40, True)
    totalsize = struct.unpack_from(">I", header, 4)[0]
    blob = prog.read(fdt_phys, min(totalsize, fdt_size), True)
    fdt = libfdt.Fdt(blob)
    pmm = u64(bytes(fdt.getprop(0, "preserved-memory-map")))
    subnodes = []
    node = fdt.first_subnode(0, libfdt.QUIET_NOTFOUND)
    while node >= 0:
        prop = fdt.getprop(node, "fdt", libfdt.QUIET_NOTFOUND)
        subnodes.append({"name": fdt.get_name(node), "fdt": u64(bytes(prop)) if not isinstance(prop, int) else None})
        node = fdt.next_subnode(node, libfdt.QUIET_NOTFOUND)
    print(json.dumps({
        "osrelease": info.get("OSRELEASE"),
        "vmcoreinfo": info,
        "fdt_phys": fdt_phys,
        "fdt_size": fdt_size,
        "scratch_phys": int(info["KHO_SCRATCH_PHYS"], 16),
        "scratch_size": int(info["KHO_SCRATCH_SIZE"]),
        "compatible": fdt.getprop(0, "compatible").as_str(),
        "preserved_memory_map": pmm,
        "subnodes": subnodes,
        "blocks": blocks_from_map(prog, pmm),
    }))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
