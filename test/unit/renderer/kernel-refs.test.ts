/** The inspector's kernel references: each KHO/LUO step names the function it models and its file. */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { stepRefs, VIEW_REFS } from '../../../renderer/src/lib/kernel-refs';

const line = (c: CommandInput) => stepRefs(c).map((r) => `${r.symbol} — ${r.file}`);

describe('kernel references', () => {
  it('insmod test_kho names kho_preserve_folio() in kernel/liveupdate/kexec_handover.c', () => {
    expect(line({ op: 'insmod', module: 'test_kho' })).toContain(
      'kho_preserve_folio() — kernel/liveupdate/kexec_handover.c',
    );
  });

  it('every KHO and LUO step models a kernel function with a path in the tree', () => {
    const ops = CommandSchema.options.map((o) => o.shape.op.value);
    for (const op of ops.filter((o) => /^(kho_|kexec_|luo_|reboot|boot|insmod)/.test(o))) {
      const refs = stepRefs({ op } as CommandInput);
      expect(refs.length, op).toBeGreaterThan(0);
      for (const r of refs)
        expect(r.file, `${op}: ${r.symbol}`).toMatch(/^(kernel|mm|lib|init|fs|include|arch)\/[\w/.-]+\.[ch]$/);
    }
    expect(stepRefs({ op: 'expect_free', atLeast: '1M' })).toEqual([]);
  });

  it('every inspector view names the structure it shows', () => {
    for (const [view, refs] of Object.entries(VIEW_REFS)) expect(refs.length, view).toBeGreaterThan(0);
    expect(VIEW_REFS.tracker.map((r) => r.symbol)).toContain('struct khoser_mem_chunk');
  });
});
