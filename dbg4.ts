import { Machine } from './electron/kernel/machine';
import { MachineConfigSchema } from './shared/machine-config';
import { applyCommand } from './electron/host/apply';
import { CommandSchema } from './shared/commands';
import { GiB } from './shared/units';
for (const order of [9, 0]) {
  const m = new Machine(MachineConfigSchema.parse({ ram: '16G', cmdline: 'kho=on liveupdate=on' }));
  for (const c of [{ op: 'boot' }, { op: 'spawn', name: 'vmm' }, { op: 'memfd_create', process: 'vmm', name: 'guest' }, { op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: 12 * GiB, order }] as any[]) {
    const r = applyCommand(m, CommandSchema.parse(c)); if (!r.ok) throw new Error(r.error.message);
  }
  const p = m.kernel!.pages;
  const st = (s: any) => `${s.denseChunks}/${Math.ceil(s.length / 512)} ${(s.byteLength / 2 ** 20).toFixed(1)}MiB`;
  console.log(order, 'flags', st(p.flags), 'order', st(p.order), 'ref', st(p.refcount), 'owner', st(p.owner), 'identity', st(m.ram.identity), 'trace', (p.trace.byteLength / 2 ** 20).toFixed(1));
  // first dense chunk sample for flags
  const f = p.flags as any;
  for (let c = 0; c < f.slot.length; c++) if (f.slot[c] > 0) { const vals = new Set(); for (let o = 0; o < 512; o++) vals.add(f.get(c * 512 + o)); if (c % 2000 === 0 || vals.size < 3) { console.log('flags chunk', c, [...vals].slice(0, 6)); break; } }
  const o = p.order as any;
  let shown = 0;
  for (let c = 0; c < o.slot.length && shown < 3; c++) if (o.slot[c] > 0) { const vals: number[] = []; for (let q = 0; q < 512; q++) vals.push(o.get(c * 512 + q)); console.log('order chunk', c, vals.map((v, i) => v ? `${i}:${v}` : '').filter(Boolean).join(' ')); shown++; }
}
