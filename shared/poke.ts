/**
 * DOC: poke requests
 *
 * The UI's "corrupt this field" builds a `poke` step (simulator fault injection; see
 * electron/host/poke.ts) with these, and runs it like any other step: SimApi.run(). A poke whose
 * input is wrong (outside RAM, a property that does not exist, a value of the wrong length) comes
 * back as an `invalid-argument` error saying what was wrong, and leaves the machine and the
 * timeline unchanged; a good one is a step that replays like the others.
 */
import type { Command, CommandInput } from './commands';

export type PokeCommand = Extract<Command, { op: 'poke' }>;
export type PokeInput = Extract<CommandInput, { op: 'poke' }>;

/** A property value: raw bytes as hex, a string (written with its NUL) or a little-endian u64. */
export type PokeValue = { hex: string } | { string: string } | { u64: number | string };

/** Bytes as the `hex` of a poke: two lowercase digits per byte, no separators. */
export function pokeHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Writes `bytes` at a physical address (a struct field the inspector shows, a page of data). */
export function pokePhys(phys: number, bytes: Uint8Array): PokeInput {
  return { op: 'poke', phys: `0x${phys.toString(16)}`, hex: pokeHex(bytes) };
}

/**
 * Writes a property of a KHO FDT as the next kernel will find it (after kexec -e): `fdt` is a
 * sub-node of the KHO root FDT ("LUO", "kho_test"…) or "root"; `property` is a property of that
 * FDT's root node, or "node/…/property" for a nested one. The value must have the property's length.
 */
export function pokeFdt(fdt: string, property: string, value: PokeValue): PokeInput {
  return { op: 'poke', fdt, property, ...value };
}
