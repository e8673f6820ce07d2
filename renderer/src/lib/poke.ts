/**
 * DOC: "corrupt this field" — the poke a field of the struct viewer prepares
 *
 * A poke step (shared/commands.ts) writes bytes into simulated RAM, so the user can watch which
 * check of the next kernel fires. From a field the viewer shows it is either the field's bytes at
 * their physical address (`{"op":"poke","phys":"0x…","hex":"…"}`), or, for a property of a KHO
 * FDT, the property by name as the next kernel will find it after kexec -e (`{"op":"poke",
 * "fdt":"LUO","property":"compatible","string":"luo-v0"}`). This module builds and checks the
 * command; the component only collects the input.
 */
import { type CommandInput, CommandSchema } from '../../../shared/commands';
import { type Result, failure, ok } from '../../../shared/result';
import type { AnnotatedStruct, StructField } from '../../../shared/views';

/** Where a poke of this field would write. */
export interface PokeTarget {
  /** Physical address of the field's first byte, and its size. */
  phys: number;
  size: number;
  /** The field's bytes now, as hex (the editor starts from them). */
  current: string;
  /** For an FDT property: the KHO FDT it is in ("root", "LUO") and its path there. */
  fdt?: string;
  property?: string;
}

export type PokeMode = 'phys' | 'property';
export type PokeValueKind = 'hex' | 'string';

export interface PokeForm {
  mode: PokeMode;
  kind: PokeValueKind;
  text: string;
}

/** Hex of bytes, two digits each, no separators (what the poke step takes). */
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The poke target of `field` in `record`; `fdt` names the KHO FDT the record is (for property pokes). */
export function pokeTarget(record: AnnotatedStruct, field: StructField, fdt?: string): PokeTarget {
  const t: PokeTarget = { phys: record.phys + field.offset, size: field.size, current: toHex(record.bytes.subarray(field.offset, field.offset + field.size)) };
  if (fdt && field.property) {
    t.fdt = fdt;
    t.property = field.property;
  }
  return t;
}

/** The form a target starts with: its bytes at its address. */
export const initialForm = (t: PokeTarget): PokeForm => ({ mode: 'phys', kind: 'hex', text: t.current });

/** Hex as the user may type it ("de ad be ef", "0xdeadbeef") reduced to digits, or why it is not hex. */
export function normalizeHex(text: string): Result<string> {
  const digits = text.trim().replace(/^0x/i, '').replace(/[\s:_-]/g, '').toLowerCase();
  if (digits === '') return failure('no bytes to write');
  if (!/^[0-9a-f]*$/.test(digits)) return failure(`"${text.trim()}" is not hex`);
  if (digits.length % 2) return failure(`${digits.length} hex digits: a byte takes two`);
  return ok(digits);
}

/** The poke command for the form, checked against the step's schema, or why it cannot be built. */
export function pokeCommand(t: PokeTarget, form: PokeForm): Result<CommandInput> {
  let command: CommandInput;
  if (form.mode === 'property') {
    if (!t.fdt || !t.property) return failure('this field is not a property of a KHO FDT');
    if (form.kind === 'string') command = { op: 'poke', fdt: t.fdt, property: t.property, string: form.text };
    else {
      const h = normalizeHex(form.text);
      if (!h.ok) return h;
      command = { op: 'poke', fdt: t.fdt, property: t.property, hex: h.value };
    }
  } else {
    const h = normalizeHex(form.text);
    if (!h.ok) return h;
    command = { op: 'poke', phys: `0x${t.phys.toString(16)}`, hex: h.value };
  }
  const parsed = CommandSchema.safeParse(command);
  if (!parsed.success) return failure(parsed.error.issues.map((i) => `${i.path.join('.') || 'poke'}: ${i.message}`).join('; '));
  return ok(command);
}

/** What the editor says about the bytes it is about to write, next to the field's size. */
export function pokeHint(t: PokeTarget, form: PokeForm): string {
  if (form.mode === 'property') {
    return form.kind === 'string' ? 'the value becomes this string and its NUL' : 'the value becomes exactly these bytes';
  }
  const h = normalizeHex(form.text);
  if (!h.ok) return h.error.message;
  const n = h.value.length / 2;
  return n === t.size ? `${n} bytes over the field's ${t.size}` : n < t.size ? `${n} of the field's ${t.size} bytes (the rest unchanged)` : `${n} bytes: ${n - t.size} past the field`;
}
