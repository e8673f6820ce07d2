/**
 * The radix tree for the simulated Inspector's Tracker tab: both trees list their first blocks with
 * the radix key kho_radix_walk_tree() derives them from, and the incoming tree's nodes are decoded
 * from the copies kho_mem_retrieve() read at early boot (a `readAtBoot` request), whose links stay
 * in that copy — so a block's path root → leaf can be followed after the pages were reused.
 */
import { describe, expect, it } from 'vitest';
import type { AnnotatedStruct, RecordRequest } from '../../../shared/views';
import { Host, builtinScenario } from '../../../electron/host/host';

async function host72(at?: number): Promise<Host> {
  const s = builtinScenario('luo-kexec-simple');
  if (!s.ok) throw new Error(s.error.message);
  const host = new Host();
  const r = await host.loadScenario(
    JSON.stringify({ ...s.value, machine: { ...s.value.machine, kernel: '7.2' } }),
    't',
  );
  if (!r.ok) throw new Error(r.error.message);
  if (at !== undefined) await host.goto(at);
  return host;
}

async function rec(host: Host, req: RecordRequest): Promise<AnnotatedStruct> {
  const r = await host.records(req);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
const fields = (r: AnnotatedStruct) => (r.sections ?? []).flatMap((s) => s.fields);

describe('radix-view: the Tracker tab’s trees (kho_radix_walk_tree())', () => {
  it('the outgoing tree lists each block with its key; entries counts them all', async () => {
    const host = await host72(3);
    const kho = await host.kho();
    if (!kho.ok) throw new Error(kho.error.message);
    const t = kho.value.outgoing!.radix!;
    expect(t.blocks.length).toBe(t.entries);
    expect(t.entries).toBeGreaterThan(0);
    // key = 1 << (52 - order) | phys >> (12 + order)
    for (const b of t.blocks) expect(b.key).toBe(2 ** (52 - b.order) + Math.floor(b.phys / 2 ** (12 + b.order)));
  });

  it('kho_mem_retrieve()’s copy: a readAtBoot request follows a block’s path to its bit, marked as read at boot', async () => {
    const host = await host72();
    const kho = await host.kho();
    if (!kho.ok) throw new Error(kho.error.message);
    const t = kho.value.incoming!.radix!;
    const b = t.blocks.at(-1)!;
    let req: RecordRequest | undefined = {
      kind: 'kho-radix-node',
      phys: t.root,
      level: 5,
      keyStart: 0,
      readAtBoot: true,
      pathKey: b.key,
    };
    const seen: AnnotatedStruct[] = [];
    while (req) {
      expect(req.readAtBoot).toBe(true);
      const r = await rec(host, req);
      seen.push(r);
      req = fields(r).find((f) => f.highlight)?.opens;
    }
    expect(seen).toHaveLength(6);
    expect(seen.every((r) => r.readAtBoot !== undefined)).toBe(true);
    expect(fields(seen[5]!).find((f) => f.highlight)!.value).toContain(`0x${b.phys.toString(16)} order ${b.order}`);
    expect(fields(seen[5]!).find((f) => f.highlight)!.value).toContain('set (preserved)');
  });

  it('a readAtBoot request for a page the walk never read is refused, naming it', async () => {
    const host = await host72();
    const r = await host.records({ kind: 'kho-radix-node', phys: 0x1000, level: 5, keyStart: 0, readAtBoot: true });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/read no radix node at 0x1000/);
  });

  it('after kexec -e: the tree the handed-over FDT names, walked from RAM as the next kernel will (entryRadix)', async () => {
    const s = builtinScenario('luo-kexec-simple');
    if (!s.ok) throw new Error(s.error.message);
    const reboot = s.value.steps!.findIndex((st) => 'op' in st && st.op === 'reboot');
    const before = await (await host72(reboot)).kho();
    const after = await (await host72(reboot + 1)).kho();
    if (!before.ok || !after.ok) throw new Error('kho view refused');
    expect(after.value.running).toBe(false);
    expect(before.value.entryRadix).toBeUndefined();
    const pending = after.value.entryRadix!;
    expect(pending.root).toBe(before.value.outgoing!.radix!.root);
    expect(pending.entries).toBe(before.value.outgoing!.radix!.entries);
  });
});
