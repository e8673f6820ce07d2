/**
 * DOC: the KHO root FDT, formats kho-v1 … kho-v4
 *
 * The one-page FDT whose address the next kernel receives (x86 setup_data SETUP_KEXEC_KHO). Its
 * root has `compatible` and `preserved-memory-map` (a native-endian u64); each KHO user adds a
 * sub-node named after itself pointing at its preserved blob. What changed per version
 * (include/linux/kho/abi/kexec_handover.h, kernel/liveupdate/kexec_handover.c):
 *
 * | compatible | first release | tracker the map points at      | sub-node properties          |
 * |------------|---------------|--------------------------------|------------------------------|
 * | kho-v1     | 6.16          | khoser_mem_chunk list (finalize) | fdt                        |
 * | kho-v2     | 7.1 merge window only (2026-04-05 "Make KHO Stateless"); no release shipped it as far as we can tell | radix tree | preserved-data |
 * | kho-v3     | 7.1           | radix tree                     | preserved-data, blob-size    |
 * | kho-v4     | 7.2 (rc1)     | radix tree; users may use kho_block chains | preserved-data, blob-size |
 *
 * Byte order of the blob, as the real 7.2.13 leaves it (ground truth: a 345-byte FDT read from a
 * guest at machine_kexec()): kho_init() writes the root with libfdt's sequential-write calls
 * (strings newest first: "preserved-memory-map" before "compatible"); each kho_add_subtree()
 * reopens the page with fdt_open_into(), adds the node with fdt_add_subnode() — which inserts it
 * before the existing sub-nodes, so they read newest first — sets `preserved-data` then
 * `blob-size` with fdt_setprop() — each inserted at the front of the node, so `blob-size` comes
 * first — and fdt_pack()s the result (reservation map at 0x28, new names appended to the strings).
 *
 * The reader follows kho_populate(): a bad header is "invalid", a compatible other than the
 * release's is "incompatible" (then "disabling KHO revival"), a missing or non-8-byte map is
 * "failed to get preserved memory map", and a map of 0 is refused silently. Sub-nodes are only
 * checked when a user retrieves them (kho_retrieve_subtree()).
 */
import { PAGE_SIZE } from '../../../shared/units';
import {
  decodeFdt,
  encodeFdt,
  fdtCheckCompatible,
  fdtString,
  fdtU64le,
  getProp,
  readU64le,
  type FdtNode,
} from '../lib/fdt';
import { utf8Encode } from '../lib/utf8';
import { getCString } from './fields';
import { AbiError, hex } from './abi-error';

export type KhoFdtCompatible = 'kho-v1' | 'kho-v2' | 'kho-v3' | 'kho-v4';

export interface KhoFdtFormat {
  /** A KhoFdtCompatible, or a patched kernel's bump of one (profile.ts: kernelProfile()). */
  readonly compatible: string;
  /** The first Linux release that wrote it ('7.1-merge-window' when none did). */
  readonly firstRelease: string;
  /** What `preserved-memory-map` points at. */
  readonly tracker: 'khoser-chunks' | 'radix-tree';
  /** True when the map is only written by kho_finalize() (0 until then). */
  readonly finalize: boolean;
  /** The sub-node property holding the blob's physical address. */
  readonly subtreeProp: 'fdt' | 'preserved-data';
  /** The sub-node property holding the blob's size, when the format has one. */
  readonly sizeProp: 'blob-size' | null;
}

const KHO_FDT_PROP_COMPATIBLE = 'compatible';
/** KHO_FDT_MEMORY_MAP_PROP_NAME. */
const KHO_FDT_MEMORY_MAP_PROP_NAME = 'preserved-memory-map';
/** KHO_SUB_TREE_PROP_NAME from kho-v2 on ('fdt' before). */
const KHO_SUB_TREE_PROP_NAME = 'preserved-data';
/** KHO_SUB_TREE_SIZE_PROP_NAME from kho-v3 on. */
const KHO_SUB_TREE_SIZE_PROP_NAME = 'blob-size';
/** The root FDT is one page, and the handoff passes fdt_len = PAGE_SIZE. */
const KHO_FDT_SIZE = PAGE_SIZE;

export const KHO_FDT_FORMATS: Readonly<Record<KhoFdtCompatible, KhoFdtFormat>> = {
  'kho-v1': {
    compatible: 'kho-v1',
    firstRelease: '6.16',
    tracker: 'khoser-chunks',
    finalize: true,
    subtreeProp: 'fdt',
    sizeProp: null,
  },
  'kho-v2': {
    compatible: 'kho-v2',
    firstRelease: '7.1-merge-window',
    tracker: 'radix-tree',
    finalize: false,
    subtreeProp: KHO_SUB_TREE_PROP_NAME,
    sizeProp: null,
  },
  'kho-v3': {
    compatible: 'kho-v3',
    firstRelease: '7.1',
    tracker: 'radix-tree',
    finalize: false,
    subtreeProp: KHO_SUB_TREE_PROP_NAME,
    sizeProp: KHO_SUB_TREE_SIZE_PROP_NAME,
  },
  'kho-v4': {
    compatible: 'kho-v4',
    firstRelease: '7.2',
    tracker: 'radix-tree',
    finalize: false,
    subtreeProp: KHO_SUB_TREE_PROP_NAME,
    sizeProp: KHO_SUB_TREE_SIZE_PROP_NAME,
  },
};

interface KhoSubtree {
  name: string;
  /** Physical address of the blob. */
  phys: number;
  /** The blob's size in bytes (written from kho-v3 on). */
  size: number;
}

export interface KhoFdt {
  /** The value of preserved-memory-map: the radix root (kho-v2+) or the first chunk (kho-v1). */
  memoryMap: number;
  /** Sub-trees in the order they were added (the blob lists them newest first). */
  subtrees: KhoSubtree[];
}

/** Builds the tree kho_init() and kho_add_subtree() leave (see the DOC block for the order). */
function khoFdtTree(format: KhoFdtFormat, fdt: KhoFdt): FdtNode {
  const children = [...fdt.subtrees].reverse().map((s): FdtNode => {
    const props: { name: string; value: Uint8Array }[] = [
      { name: format.subtreeProp, value: fdtU64le(BigInt(s.phys)) },
    ];
    if (format.sizeProp) props.unshift({ name: format.sizeProp, value: fdtU64le(BigInt(s.size)) });
    return { name: s.name, props, children: [] };
  });
  return {
    name: '',
    props: [
      { name: KHO_FDT_PROP_COMPATIBLE, value: fdtString(format.compatible) },
      { name: KHO_FDT_MEMORY_MAP_PROP_NAME, value: fdtU64le(BigInt(fdt.memoryMap)) },
    ],
    children,
  };
}

/**
 * The root FDT page's bytes (totalsize long; the page past it is zero). Before any sub-tree it is
 * kho_init()'s sequential-write blob; after, the packed read-write layout.
 */
export function encodeKhoFdt(format: KhoFdtFormat, fdt: KhoFdt): Uint8Array | AbiError {
  const tree = khoFdtTree(format, fdt);
  const names = [
    KHO_FDT_MEMORY_MAP_PROP_NAME,
    KHO_FDT_PROP_COMPATIBLE,
    format.subtreeProp,
    ...(format.sizeProp ? [format.sizeProp] : []),
  ];
  const enc =
    fdt.subtrees.length === 0
      ? encodeFdt(tree, { strings: 'sequential-write', capacity: KHO_FDT_SIZE })
      : encodeFdt(tree, { existingStrings: utf8Encode(names.map((n) => n + '\0').join('')), capacity: KHO_FDT_SIZE });
  // kho_add_subtree(): a node that does not fit the page is -ENOMEM.
  if (!enc.ok) return new AbiError('bad-size', `root FDT does not fit one page: ${enc.message}`, 'ENOMEM');
  return enc.bytes;
}

export interface DecodedKhoFdt {
  compatible: string;
  memoryMap: number;
  /** Sub-nodes in blob order (newest first), raw: each is only validated by retrieveSubtree(). */
  nodes: FdtNode[];
  totalsize: number;
}

/** kho_populate()'s checks of the incoming root FDT for a kernel speaking `format`. */
export function decodeKhoFdt(bytes: Uint8Array, format: KhoFdtFormat, fdtPhys = 0): DecodedKhoFdt | AbiError {
  const d = decodeFdt(bytes);
  if (!d.ok) {
    return new AbiError(
      'bad-format',
      `handover FDT at ${hex(fdtPhys)} is invalid: ${d.message}`,
      'EINVAL',
      fdtPhys,
      `KHO: setup: handover FDT (${hex(fdtPhys)}) is invalid: -${d.error}`,
    );
  }
  const compat = fdtCheckCompatible(d.root, format.compatible);
  if (compat !== 0) {
    const found = getProp(d.root, KHO_FDT_PROP_COMPATIBLE);
    // A compatible is a NUL-separated list: show it as "a, b".
    const shown = found
      ? getCString(
          found.map((c) => (c === 0 ? 0x20 : c)),
          0,
          found.length,
        )
          .trim()
          .replace(/ +/g, ', ')
      : '(none)';
    return new AbiError(
      'incompatible',
      `handover FDT says compatible "${shown}", this kernel reads "${format.compatible}"`,
      'EINVAL',
      fdtPhys,
      `KHO: setup: handover FDT (${hex(fdtPhys)}) is incompatible with '${format.compatible}': ${compat}`,
    );
  }
  const map = getProp(d.root, KHO_FDT_MEMORY_MAP_PROP_NAME);
  const mapValue = map ? readU64le(map) : null;
  if (mapValue === null)
    return new AbiError(
      'bad-format',
      `${KHO_FDT_MEMORY_MAP_PROP_NAME} is ${map ? `${map.length} bytes, not 8` : 'missing'}`,
      'EINVAL',
      fdtPhys,
      'KHO: failed to get preserved memory map',
    );
  if (mapValue === 0n)
    return new AbiError(
      'bad-value',
      `${KHO_FDT_MEMORY_MAP_PROP_NAME} is 0 (nothing was handed over)`,
      'EINVAL',
      fdtPhys,
    );
  if (mapValue >= 1n << 52n)
    return new AbiError(
      'bad-value',
      `${KHO_FDT_MEMORY_MAP_PROP_NAME} ${hex(mapValue)} is beyond any physical address`,
      'EINVAL',
      fdtPhys,
      undefined,
      false,
    );
  return {
    compatible: format.compatible,
    memoryMap: Number(mapValue),
    nodes: d.root.children,
    totalsize: d.header.totalsize,
  };
}

/**
 * kho_retrieve_subtree(name, &phys, &size): the blob of sub-node `name`, or ENOENT when there is
 * none, EINVAL when its address (or, from kho-v3, its size) is not an 8-byte property.
 */
export function retrieveSubtree(
  fdt: DecodedKhoFdt,
  format: KhoFdtFormat,
  name: string,
): { phys: number; size: number | null } | AbiError {
  const node = fdt.nodes.find((n) => n.name === name);
  if (!node) return new AbiError('bad-format', `no sub-tree "${name}" in the handover FDT`, 'ENOENT');
  const phys = readU64le(getProp(node, format.subtreeProp) ?? new Uint8Array());
  if (phys === null)
    return new AbiError('bad-format', `sub-tree "${name}" has no 8-byte ${format.subtreeProp}`, 'EINVAL');
  if (phys >= 1n << 52n)
    return new AbiError(
      'bad-value',
      `sub-tree "${name}" ${format.subtreeProp} ${hex(phys)} is beyond any physical address`,
      'EINVAL',
      undefined,
      undefined,
      false,
    );
  if (!format.sizeProp) return { phys: Number(phys), size: null };
  const size = readU64le(getProp(node, format.sizeProp) ?? new Uint8Array());
  if (size === null) return new AbiError('bad-format', `sub-tree "${name}" has no 8-byte ${format.sizeProp}`, 'EINVAL');
  if (size > BigInt(Number.MAX_SAFE_INTEGER))
    return new AbiError(
      'bad-value',
      `sub-tree "${name}" ${format.sizeProp} ${hex(size)} is beyond 2^53`,
      'EINVAL',
      undefined,
      undefined,
      false,
    );
  return { phys: Number(phys), size: Number(size) };
}
