/**
 * DOC: "corrupt this field" — the poke a field of the struct viewer prepares
 *
 * A poke step (shared/poke.ts, electron/host/poke.ts) writes bytes into simulated RAM, so the
 * user can watch which check of the next kernel fires. From a field the viewer shows it is either
 * the field's bytes at their physical address (`{"op":"poke","phys":"0x…","hex":"…"}`), or, for a
 * property of a KHO FDT handed over by kexec -e, the property by name as the next kernel will
 * find it (`{"op":"poke","fdt":"LUO","property":"compatible","string":"luo-v0"}`). A property is
 * written in place, so its value keeps its length. This module builds and checks the request; the
 * component only collects the input, and the host has the last word.
 */
import { type PokeInput, pokeFdt, pokeHex, pokePhys } from '../../../shared/poke';
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

type PokeMode = 'phys' | 'property';
type PokeValueKind = 'hex' | 'string';

export interface PokeForm {
  mode: PokeMode;
  kind: PokeValueKind;
  text: string;
}

/** The poke target of `field` in `record`; `fdt` names the handed-over KHO FDT the record is (for property pokes). */
export function pokeTarget(record: AnnotatedStruct, field: StructField, fdt?: string): PokeTarget {
  const t: PokeTarget = {
    phys: record.phys + field.offset,
    size: field.size,
    current: pokeHex(record.bytes.subarray(field.offset, field.offset + field.size)),
  };
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
  const digits = text
    .trim()
    .replace(/^0x/i, '')
    .replace(/[\s:_-]/g, '')
    .toLowerCase();
  if (digits === '') return failure('no bytes to write');
  if (!/^[0-9a-f]*$/.test(digits)) return failure(`"${text.trim()}" is not hex`);
  if (digits.length % 2) return failure(`${digits.length} hex digits: a byte takes two`);
  return ok(digits);
}

const bytesOf = (hex: string): Uint8Array =>
  Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
/** Bytes a property value takes: a string with its NUL. */
const utf8Length = (s: string): number => new TextEncoder().encode(s).length + 1;

/** The poke request for the form, or why it cannot be built. */
export function pokeCommand(t: PokeTarget, form: PokeForm): Result<PokeInput> {
  if (form.mode === 'property') {
    if (!t.fdt || !t.property) return failure('this field is not a property of a handed-over KHO FDT');
    if (form.kind === 'string') {
      if (form.text.includes('\0')) return failure('a devicetree string cannot contain NUL');
      return ok(pokeFdt(t.fdt, t.property, { string: form.text }));
    }
    const h = normalizeHex(form.text);
    return h.ok ? ok(pokeFdt(t.fdt, t.property, { hex: h.value })) : h;
  }
  const h = normalizeHex(form.text);
  if (!h.ok) return h;
  if (h.value.length > 8192) return failure(`${h.value.length / 2} bytes: a poke writes at most 4096`);
  return ok(pokePhys(t.phys, bytesOf(h.value)));
}

/** What the editor says about the bytes it is about to write, next to the field's size. */
export function pokeHint(t: PokeTarget, form: PokeForm): string {
  if (form.mode === 'property') {
    const h = form.kind === 'hex' ? normalizeHex(form.text) : null;
    if (h && !h.ok) return h.error.message;
    const n = h ? h.value.length / 2 : utf8Length(form.text);
    const what = form.kind === 'string' ? 'the string and its NUL' : 'these bytes';
    return n === t.size
      ? `${what}: ${n} bytes, as long as the property`
      : `${what}: ${n} bytes, but the property is ${t.size} — a poke writes in place and cannot resize it`;
  }
  const h = normalizeHex(form.text);
  if (!h.ok) return h.error.message;
  const n = h.value.length / 2;
  return n === t.size
    ? `${n} bytes over the field's ${t.size}`
    : n < t.size
      ? `${n} of the field's ${t.size} bytes (the rest unchanged)`
      : `${n} bytes: ${n - t.size} past the field`;
}
