/**
 * Issue 13 item 7: a blob cannot make the FDT reader or its printers write gigabytes. Nesting is
 * capped as drivers/of/fdt.c: unflatten_dt_nodes() caps it (FDT_MAX_DEPTH 64, nodes at depth
 * ≥ 63 refused), and both printers stop at OUTPUT_PER_INPUT_BYTE characters per input byte.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cli, scratchDir } from './run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';
import { FDT_MAX_DEPTH, decodeFdt, encodeFdt, type FdtNode } from '../../../electron/kernel/lib/fdt';
import { OUTPUT_PER_INPUT_BYTE, describeFdt, fdtInputBytes, fdtToDts } from '../../../electron/host/fdt-text';

const dir = scratchDir('kho-lab-fdt-bounds-');

/** A chain of `depth` nested nodes under the root, the innermost at depth `depth`. */
function chain(depth: number): FdtNode {
  const root: FdtNode = { name: '', props: [], children: [] };
  let at = root;
  for (let d = 1; d <= depth; d++) {
    const child: FdtNode = { name: 'n', props: [], children: [] };
    at.children.push(child);
    at = child;
  }
  return root;
}

function blob(root: FdtNode): Uint8Array {
  const r = encodeFdt(root);
  if (!r.ok) throw new Error(r.message);
  return r.bytes;
}

/** Total characters a printer wrote. */
const chars = (lines: string[]): number => lines.reduce((n, l) => n + l.length + 1, 0);

describe('unflatten_dt_nodes() FDT_MAX_DEPTH in decodeFdt', () => {
  it('accepts a node at depth 62 (FDT_MAX_DEPTH - 2) and refuses one at depth 63', () => {
    expect(FDT_MAX_DEPTH).toBe(64);
    const deepest = decodeFdt(blob(chain(62)));
    expect(deepest.ok).toBe(true);
    const tooDeep = decodeFdt(blob(chain(63)));
    expect(tooDeep).toMatchObject({ ok: false, error: 'FDT_ERR_BADSTRUCTURE' });
    if (!tooDeep.ok)
      expect(tooDeep.message).toMatch(/nested 63 deep, past the kernel's limit of 62 \(FDT_MAX_DEPTH 64/);
  });

  it('refuses a 100,000-deep blob at the first node past the limit', () => {
    const r = decodeFdt(blob(chain(100_000)));
    expect(r).toMatchObject({ ok: false, error: 'FDT_ERR_BADSTRUCTURE' });
    // The offset names the 63rd nested FDT_BEGIN_NODE: header 40 + reservation terminator 16, 8 bytes per node.
    if (!r.ok) expect(r.offset).toBe(56 + 63 * 8);
  });

  it('`fdt` on a 100,000-deep blob exits 2 naming the depth limit', async () => {
    const path = join(dir, 'deep.dtb');
    writeFileSync(path, blob(chain(100_000)));
    for (const args of [
      ['fdt', path],
      ['fdt', path, '--dts'],
    ]) {
      const r = await cli(...args);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.out).toEqual([]);
      expect(r.err.join('\n')).toMatch(/corrupt flattened devicetree: .*FDT_MAX_DEPTH 64.*\[FDT_ERR_BADSTRUCTURE\]/);
    }
  });
});

describe('fdt-text printers: output ≤ OUTPUT_PER_INPUT_BYTE × input bytes', () => {
  const bound = (bytes: Uint8Array): number => OUTPUT_PER_INPUT_BYTE * bytes.length + 4096;

  it('prints the deepest accepted tree whole (no truncation at depth 62)', async () => {
    const path = join(dir, 'deep62.dtb');
    writeFileSync(path, blob(chain(62)));
    const r = await cli('fdt', path);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.at(-1)).toBe(`${'  '.repeat(62)}n/`);
  });

  it('cuts a listing whose properties all share one long name, and says so', () => {
    const long = 'x'.repeat(4000);
    const root: FdtNode = {
      name: '',
      props: [],
      children: Array.from({ length: 2000 }, (_, i) => ({
        name: `c${i}`,
        props: [{ name: long, value: new Uint8Array() }],
        children: [],
      })),
    };
    const bytes = blob(root);
    const d = decodeFdt(bytes);
    if (!d.ok) throw new Error(d.message);
    const lines = describeFdt(d.root, d.memReserve);
    expect(chars(lines)).toBeLessThanOrEqual(bound(bytes));
    expect(lines.at(-1)).toMatch(/^… output truncated at \d+ characters \(16 per byte/);
    const dts = fdtToDts(d.root, d.memReserve);
    expect(dts.length).toBeLessThanOrEqual(bound(bytes));
    expect(dts).toMatch(/\/\* output truncated at \d+ characters .*\*\/\n$/);
  });

  it('property: any decodable tree prints within the bound, both printers', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9,._+-]{0,40}$/);
    const prop = fc.record({
      name: fc.oneof(name, fc.constant('y'.repeat(500))),
      value: fc.uint8Array({ maxLength: 64 }),
    });
    const node = (levels: number): fc.Arbitrary<FdtNode> =>
      fc.record({
        name,
        props: fc.uniqueArray(prop, { maxLength: 6, selector: (p) => p.name }),
        children:
          levels === 0 ? fc.constant([]) : fc.uniqueArray(node(levels - 1), { maxLength: 3, selector: (c) => c.name }),
      });
    const tree = node(3);
    const depthChain = fc.integer({ min: 0, max: 62 });
    fc.assert(
      fc.property(tree, depthChain, (t, deep) => {
        const root: FdtNode = {
          name: '',
          props: t.props,
          children: [...t.children.filter((c) => c.name !== 'n'), ...chain(deep).children],
        };
        const bytes = blob(root);
        const d = decodeFdt(bytes);
        if (!d.ok) return; // deeper than the kernel unflattens: refused above
        expect(fdtInputBytes(d.root, d.memReserve)).toBeLessThanOrEqual(bytes.length);
        expect(chars(describeFdt(d.root, d.memReserve))).toBeLessThanOrEqual(bound(bytes));
        expect(fdtToDts(d.root, d.memReserve).length).toBeLessThanOrEqual(bound(bytes));
      }),
      { numRuns: 200 },
    );
  });
});
