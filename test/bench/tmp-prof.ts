import { MachineConfigSchema, type KernelRelease } from '../../shared/machine-config';
import { Machine } from '../../electron/kernel/machine';
import { MIGRATE_UNMOVABLE } from '../../electron/kernel/mm/page-flags';
import { kexecFileLoad } from '../../electron/kernel/kexec';
function go(kernel: KernelRelease) {
  const G = 8;
  const m = new Machine(MachineConfigSchema.parse({ ram: '16G', nodes: 2, cmdline: 'kho=on', kernel }));
  m.boot();
  const k = m.kernel!;
  const n = G * 262144;
  const folios = new Int32Array(n);
  const owner = k.owners.id('kernel', 'bench folios');
  for (let i = 0; i < n; i++) folios[i] = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, i & 1, owner, true);
  let t = performance.now();
  for (let i = 0; i < n; i++) k.khoOut!.preserveFolio(folios[i]!);
  if (k.ctx.profile.kho.finalize !== 'none') k.khoOut!.finalize();
  const pres = performance.now() - t;
  const image = kexecFileLoad(k, k.cmdline, m.config.initrd);
  if (!('segments' in image)) throw new Error(String(image));
  k.kimage = image;
  m.kexecReboot();
  t = performance.now();
  m.boot();
  const boot = performance.now() - t;
  console.log(kernel, 'preserve', pres.toFixed(0), 'boot', boot.toFixed(0), m.kernel!.khoIn!.blockCount);
}
go((process.argv[2] ?? '6.19') as KernelRelease);
