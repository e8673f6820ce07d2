/**
 * DOC: poke — breaking things on purpose
 *
 * The simulator's fault injection; no kernel has this interface. A `poke` step writes bytes into
 * simulated RAM, either
 *  - at a physical address (`phys`), anywhere in usable RAM, at any time, or
 *  - into a property of a KHO FDT as the next kernel will find it: between `kexec -e` and the next
 *    boot, the root FDT is found exactly as that kernel finds it — boot_params → setup_data of
 *    type SETUP_KEXEC_KHO → kho_data.fdt_addr (arch/x86/kernel/setup.c: parse_setup_data(),
 *    kernel/liveupdate/kexec_handover.c: kho_populate()); while a kernel runs, it is the root FDT
 *    that kernel will hand on (kho_out's). `fdt: "root"` is that root FDT; any other name is a
 *    sub-node of it whose `fdt` property points at a sub-FDT (kho_retrieve_subtree()), such as
 *    "LUO". `property` is a property of that FDT's root node, or a path "node/…/property".
 *
 * The value is `hex` bytes, a `string` (written with its NUL, as a devicetree string is) or a
 * little-endian `u64` (KHO's native-endian u64 properties). An FDT property is overwritten in
 * place: the value must have the property's length, since growing or shrinking it would move
 * every byte after it. Every check runs before the first byte is written, so a refused poke leaves
 * the machine exactly as it was, and says what was wrong. shared/poke.ts builds pokes for the UI.
 */
import type { PokeCommand } from '../../shared/poke';
import { type Result, failure, ok } from '../../shared/result';
import { PAGE_SIZE } from '../../shared/units';
import { PROP_SUB_FDT } from '../kernel/abi/kho-v1';
import {
  FDT_PROP,
  type FdtHeader,
  type FdtNode,
  decodeFdt,
  decodeFdtLayout,
  fdtWalk,
  findNode,
  readU64le,
} from '../kernel/lib/fdt';
import { utf8Encode } from '../kernel/lib/utf8';
import type { Machine } from '../kernel/machine';
import type { StepResult } from './apply';
import { entryKhoData } from './kho-views';

/** What a poke will write, once every check has passed. */
export interface PokePlan {
  phys: number;
  bytes: Uint8Array;
  /** Where, in words: "0x1234" or "LUO/compatible at 0x…". */
  target: string;
}

/** An FDT larger than this is not one KHO wrote (the largest, test_kho's, is a few pages): read no more. */
const MAX_FDT_BYTES = 4 * 1024 * 1024;
const FDT_HEADER_SIZE = 40;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** How a step names the poke in a message: its target, as the timeline labels it. */
export const pokeWhere = (cmd: PokeCommand): string =>
  cmd.phys !== undefined ? cmd.phys : `${cmd.fdt ?? '?'}/${cmd.property ?? '?'}`;

/** The bytes of `hex`, `string` or `u64` (exactly one of them), or why there are none. */
function pokeValue(cmd: Pick<PokeCommand, 'hex' | 'string' | 'u64'>): Result<Uint8Array> {
  const given = (['hex', 'string', 'u64'] as const).filter((k) => cmd[k] !== undefined);
  if (given.length !== 1)
    return failure(`give exactly one value (hex, string or u64); got ${given.length ? given.join(' and ') : 'none'}`);
  if (cmd.string !== undefined) return ok(utf8Encode(cmd.string + '\0'));
  if (cmd.u64 !== undefined) {
    const v = BigInt(cmd.u64);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, v, true);
    return ok(out);
  }
  const digits = cmd.hex!.replace(/\s+/g, '');
  const bad = digits.search(/[^0-9a-fA-F]/);
  if (digits.length === 0) return failure('malformed hex: no bytes given');
  if (bad >= 0) return failure(`malformed hex "${cmd.hex}": "${digits[bad]}" is not a hex digit`);
  if (digits.length % 2)
    return failure(`malformed hex "${cmd.hex}": ${digits.length} digits is not a whole number of bytes`);
  return ok(Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16)));
}

/**
 * Every check of a poke, without writing: the plan, or why it is refused. The UI may call this
 * (through a dry run) to validate an edit before it becomes a step.
 */
export function planPoke(m: Machine, cmd: PokeCommand): Result<PokePlan> {
  if ((cmd.phys === undefined) === (cmd.fdt === undefined))
    return failure('give exactly one of phys (a physical address) or fdt (a KHO FDT)');
  const value = pokeValue(cmd);
  if (!value.ok) return value;
  const bytes = value.value;
  if (cmd.phys !== undefined) {
    if (cmd.property !== undefined) return failure('property goes with fdt, not with phys');
    const phys = Number(BigInt(cmd.phys));
    const where = ramProblem(m, phys, bytes.length);
    return where ? failure(where) : ok({ phys, bytes, target: hex(phys) });
  }
  if (cmd.property === undefined)
    return failure(`fdt "${cmd.fdt}" needs a property to write (e.g. "compatible", or "node/property")`);
  return planFdtPoke(m, cmd.fdt!, cmd.property, bytes);
}

/** Why [phys, phys+len) is not all in one range of usable RAM, or null when it is. */
function ramProblem(m: Machine, phys: number, len: number): string | null {
  if (m.layout.ram.some(([a, b]) => phys >= a && phys + len <= b)) return null;
  const ranges = m.layout.ram.map(([a, b]) => `[${hex(a)}, ${hex(b)})`).join(', ');
  return `[${hex(phys)}, ${hex(phys + len)}) is not in RAM: the machine's usable RAM is ${ranges}`;
}

/** A validated FDT blob read from RAM, or why it does not decode. */
function readFdt(
  m: Machine,
  phys: number,
  size: number,
  what: string,
): Result<{ root: FdtNode; header: FdtHeader; bytes: Uint8Array }> {
  const bad = ramProblem(m, phys, Math.max(size, FDT_HEADER_SIZE));
  if (bad) return failure(`${what} at ${hex(phys)}: ${bad}`);
  const bytes = m.ram.read(phys, size);
  const d = decodeFdt(bytes);
  return d.ok
    ? ok({ root: d.root, header: d.header, bytes })
    : failure(`${what} at ${hex(phys)} does not decode: ${d.message} [${d.error}]`);
}

/** Where the root FDT the next kernel will read lies now, or why there is none. */
function handoverRoot(m: Machine): Result<{ phys: number; size: number }> {
  const k = m.kernel;
  if (k) {
    if (!k.khoOut) return failure('the running kernel hands over no KHO FDT (KHO is off: boot with kho=on)');
    return ok({ phys: k.khoOut.fdtPhys, size: PAGE_SIZE });
  }
  if (!m.entry) return failure('no kernel runs and no kexec is pending: there is no KHO FDT to write');
  const kho = entryKhoData(m, m.entry.bootParams);
  if (!kho)
    return failure('the pending kexec hands over no KHO data (no SETUP_KEXEC_KHO setup_data): was KHO on (kho=on)?');
  return ok({ phys: kho.fdtAddr, size: Math.min(kho.fdtSize, MAX_FDT_BYTES) });
}

function planFdtPoke(m: Machine, fdt: string, property: string, bytes: Uint8Array): Result<PokePlan> {
  const handover = handoverRoot(m);
  if (!handover.ok) return handover;
  const at = handover.value;
  const rootBlob = readFdt(m, at.phys, at.size, 'the KHO root FDT');
  if (!rootBlob.ok) return rootBlob;
  const root = rootBlob.value;
  let blob = root;
  let blobPhys = at.phys;
  if (fdt !== 'root') {
    const node = root.root.children.find((c) => c.name === fdt);
    if (!node)
      return failure(
        `the KHO root FDT has no sub-node "${fdt}"; it has ${names(root.root.children.map((c) => c.name))} (or use "root")`,
      );
    const ptr = node.props.find((p) => p.name === PROP_SUB_FDT)?.value;
    const sub = ptr ? readU64le(ptr) : null;
    if (sub === null)
      return failure(
        `node "${fdt}" of the KHO root FDT has no 8-byte "${PROP_SUB_FDT}" property pointing at a sub-FDT`,
      );
    blobPhys = Number(sub);
    const head = ramProblem(m, blobPhys, FDT_HEADER_SIZE) ? null : m.ram.read(blobPhys, FDT_HEADER_SIZE);
    if (!head) return failure(`sub-FDT "${fdt}" at ${hex(blobPhys)} is not in RAM`);
    const size = Math.min(MAX_FDT_BYTES, Math.max(FDT_HEADER_SIZE, getU32BE(head, 4)));
    const d = readFdt(m, blobPhys, size, `sub-FDT "${fdt}"`);
    if (!d.ok) return d;
    blob = d.value;
  }
  const slash = property.lastIndexOf('/');
  const nodePath = slash < 0 ? '/' : property.slice(0, slash);
  const propName = property.slice(slash + 1);
  const label = `FDT "${fdt}"`;
  const node = findNode(blob.root, nodePath);
  if (!node) return failure(`${label} has no node "${nodePath}"`);
  const index = node.props.findIndex((p) => p.name === propName);
  if (index < 0)
    return failure(
      `node "${nodePath}" of ${label} has no property "${propName}"; it has ${names(node.props.map((p) => p.name))}`,
    );
  const len = node.props[index]!.value.length;
  if (bytes.length !== len) {
    return failure(
      `${fdt}/${property} is ${len} bytes; the value is ${bytes.length} bytes — a poke writes in place and cannot resize a property (a string is written with its NUL)`,
    );
  }
  // Where its value lies in the blob (fdt_getprop()'s pointer), from the kernel's own FDT walk.
  const path = pathOf(blob.root, node);
  const offset = decodeFdtLayout(blob.bytes).tokens.find(
    (t) => t.tag === FDT_PROP && t.path === path && t.name === propName,
  )?.valueOffset;
  if (offset === undefined) return failure(`${fdt}/${property}: the property was not found in the structure block`); // cannot happen after decodeFdt
  return ok({ phys: blobPhys + offset, bytes, target: `${fdt}/${property} at ${hex(blobPhys + offset)}` });
}

const names = (list: string[]): string => (list.length ? list.map((n) => `"${n}"`).join(', ') : 'none');
const getU32BE = (b: Uint8Array, off: number): number =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off);

/** The node's path as the structure block spells it ('/' for the root): findNode() also matches "name" to "name@unit". */
function pathOf(root: FdtNode, target: FdtNode): string {
  for (const e of fdtWalk(root)) if (e.kind === 'enter' && e.node === target) return e.path();
  return '';
}

/** Bytes as the log shows them: up to 16 in hex. */
function hexBytes(b: Uint8Array): string {
  const shown = [...b.subarray(0, 16)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  return b.length > 16 ? `${shown} … (${b.length} bytes)` : shown;
}

/** Applies a poke step: writes the bytes, or refuses as bad input with the machine unchanged. */
export function applyPoke(m: Machine, cmd: PokeCommand): StepResult {
  const planned = planPoke(m, cmd);
  if (!planned.ok)
    return { ok: false, error: { invalid: true, message: `poke ${pokeWhere(cmd)}: ${planned.error.message}` } };
  const plan = planned.value;
  const old = m.ram.read(plan.phys, plan.bytes.length);
  m.ram.write(plan.phys, plan.bytes);
  m.log.warn('kho-lab', `poke ${plan.target}: ${hexBytes(old)} → ${hexBytes(plan.bytes)} (simulator fault injection)`);
  const pages = Math.floor((plan.phys + plan.bytes.length - 1) / PAGE_SIZE) - Math.floor(plan.phys / PAGE_SIZE) + 1;
  const n = plan.bytes.length;
  return ok({
    message: `wrote ${n} byte${n === 1 ? '' : 's'} to ${plan.target} (${pages} page${pages === 1 ? '' : 's'})`,
  });
}
