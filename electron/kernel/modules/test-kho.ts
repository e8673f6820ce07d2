/**
 * DOC: lib/test_kho.c as in Linux 6.19
 *
 * The kernel's own KHO test, as a module of the simulated kernel. On a boot without a
 * "kho_test" subtree it saves: folios of random orders until max_mem (8 MiB by default), filled
 * with random bytes, their csum_partial() chained in folio order, an array of `phys | order`
 * entries in vmalloc memory preserved with kho_preserve_vmalloc, and a sub-FDT (compatible
 * "kho-test-v1", magic "KHO!", node `data` with nr_folios, folios_info, csum) in a folio of order
 * get_order(nr_folios * 8 + PAGE_SIZE), preserved and published with kho_add_subtree. On a KHO
 * boot it restores: retrieves the subtree, checks it, restores the array, then restores folio
 * after folio, summing each, and stops at the first that fails to restore or has the wrong order
 * — the rest stay preserved, unrestored — then compares the sum. The sub-FDT folio itself is
 * never restored: it stays reserved.
 *
 * Two parameters are the simulator's, for experiments: `forget` leaves folio N out of the
 * preservation (its entry stays in the array), and `chain` re-preserves the restored folios so
 * that a further kexec can check them again. Its explanations are logged as "kho-lab".
 */
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SIZE, hex } from '../../../shared/units';
import { getU32, getU64, putU32, putU64 } from '../abi/bytes';
import { type KernelError, isErr, kerr } from '../lib/errno';
import { csumPartial } from '../lib/checksum';
import {
  FDT_PROP,
  type FdtNode,
  decodeFdt,
  decodeFdtLayout,
  encodeFdt,
  fdtCheckCompatible,
  fdtString,
  getProp,
} from '../lib/fdt';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_UNMOVABLE, PG } from '../mm/page-flags';
import type { FailedAt } from '../../../shared/views';

const KHO_TEST_NAME = 'kho_test';
export const KHO_TEST_COMPATIBLE = 'kho-test-v1';
/** KHO_TEST_MAGIC, "KHO!". */
const KHO_TEST_MAGIC = 0x4b484f21;

export interface TestKhoParams {
  max_mem?: number;
  forget?: number;
  chain?: boolean;
}

export interface TestKhoResult {
  ok: boolean;
  message: string;
  /** On a failed restore, the folio the loop stopped at (kho_test_restore_data() breaks there). */
  failedAt?: FailedAt;
}

interface Folio {
  pfn: number;
  order: number;
}

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  putU32(b, 0, v);
  return b;
};

/** csum_partial() over each folio's bytes, chained in folio order, as the module computes `csum`. */
function checksum(k: Kernel, folios: readonly Folio[], sum = 0): number {
  for (const f of folios) sum = folioCsum(k, f, sum);
  return sum;
}

function folioCsum(k: Kernel, f: Folio, sum: number): number {
  const bytes = new Uint8Array(PAGE_SIZE << f.order);
  for (let i = 0; i < 2 ** f.order; i++) bytes.set(k.ram.page(f.pfn + i), i * PAGE_SIZE);
  return csumPartial(bytes, sum);
}

function owner(k: Kernel): number {
  return k.owners.id('kernel', 'test_kho folios');
}

/** module_init(test_kho). */
export function testKhoInit(k: Kernel, params: TestKhoParams): TestKhoResult {
  if (!k.khoOut) return { ok: true, message: 'KHO is disabled: test_kho does nothing' };
  const phys = k.khoIn ? k.khoIn.retrieveSubtree(KHO_TEST_NAME) : kerr('ENOENT', 'cold boot');
  if (!isErr(phys)) return restore(k, phys, params);
  if (phys.errno !== 'ENOENT') return { ok: false, message: `kho_retrieve_subtree: ${phys.errno} (${phys.reason})` };
  const folios = allocFolios(k, params.max_mem ?? 2 * (PAGE_SIZE << MAX_PAGE_ORDER));
  if (isErr(folios)) return { ok: false, message: `test_kho: ${folios.errno} (${folios.reason})` };
  const e = save(k, folios, params.forget);
  return e
    ? { ok: false, message: `test_kho: ${e.errno} (${e.reason})` }
    : { ok: true, message: `test_kho: preserved ${folios.length} folios (${hex(checksum(k, folios), 8)})` };
}

/** Folios of random orders until max_mem, filled with random bytes. */
function allocFolios(k: Kernel, maxMem: number): Folio[] | KernelError {
  const folios: Folio[] = [];
  let left = Math.floor(maxMem / PAGE_SIZE);
  while (left > 0) {
    const order = Math.min(k.rng.int(0, NR_PAGE_ORDERS - 1), 31 - Math.clz32(left));
    const pfn = k.buddy.allocPages(order, MIGRATE_UNMOVABLE, k.preferredNid, owner(k), true);
    if (pfn === ALLOC_FAILED) return kerr('ENOMEM', `folio_alloc of order ${order} failed`);
    k.ram.randomize(pfn, 2 ** order, k.rng);
    folios.push({ pfn, order });
    left -= 2 ** order;
  }
  return folios;
}

/** The save path: preserve folios, the info array and the sub-FDT, and publish it. */
function save(k: Kernel, folios: Folio[], forget: number | undefined): KernelError | null {
  const kho = k.khoOut!;
  for (const [i, f] of folios.entries()) {
    if (i === forget) {
      k.log.info('kho-lab', `not preserving folio ${i} at pfn ${hex(f.pfn)} (forget=${forget})`);
      continue;
    }
    const e = kho.preserveFolio(f.pfn);
    if (e) return e;
  }
  // folios_info: phys | order per folio, in vmalloc memory.
  const name = `test_kho folios_info (gen ${k.ctx.generation})`;
  const area = k.vmalloc.alloc(name, Math.max(1, folios.length * 8));
  if (isErr(area)) return area;
  k.vmAreas.set(name, area);
  const info = new Uint8Array(area.pfns.length * PAGE_SIZE);
  folios.forEach((f, i) => putU64(info, i * 8, f.pfn * PAGE_SIZE + f.order));
  area.pfns.forEach((pfn, i) => k.ram.structPage(pfn).set(info.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)));
  const desc = kho.preserveVmalloc(area);
  if (isErr(desc)) return desc;

  const fdt: FdtNode = {
    name: '',
    props: [
      { name: 'compatible', value: fdtString(KHO_TEST_COMPATIBLE) },
      { name: 'magic', value: u32(KHO_TEST_MAGIC) },
    ],
    children: [
      {
        name: 'data',
        props: [
          { name: 'nr_folios', value: u32(folios.length) },
          { name: 'folios_info', value: desc },
          { name: 'csum', value: u32(checksum(k, folios)) },
        ],
        children: [],
      },
    ],
  };
  // kho_test_prepare_fdt(): a folio of get_order(nr_folios * sizeof(phys_addr_t) + PAGE_SIZE).
  const fdtSize = folios.length * 8 + PAGE_SIZE;
  // fdt_create() … fdt_finish(): libfdt's sequential-write layout, as the real blob shows.
  const enc = encodeFdt(fdt, { strings: 'sequential-write', capacity: fdtSize });
  if (!enc.ok) return kerr('ENOMEM', enc.message);
  const fdtPhys = kho.allocPreserve(fdtSize, 'test_kho sub-FDT');
  if (isErr(fdtPhys)) return fdtPhys;
  k.ram.write(fdtPhys, enc.bytes);
  return kho.addSubtree(KHO_TEST_NAME, fdtPhys);
}

/** The restore path (kho_test_restore), reading only what the previous kernel left in RAM. */
function restore(k: Kernel, fdtPhys: number, params: TestKhoParams): TestKhoResult {
  let failedAt: FailedAt | undefined;
  const failed = (why: string): TestKhoResult => {
    k.log.err('test_kho', 'KHO restore failed');
    k.log.info('kho-lab', `test_kho: ${why}`);
    return { ok: false, message: `KHO restore failed: ${why}`, ...(failedAt ? { failedAt } : {}) };
  };
  const khoIn = k.khoIn!;
  // The sub-FDT is read in place (phys_to_virt) and never restored: its folio stays reserved.
  const head = k.ram.read(fdtPhys, 8);
  const total = new DataView(head.buffer, head.byteOffset).getUint32(4);
  const blob = k.ram.read(fdtPhys, Math.max(PAGE_SIZE, Math.min(total, k.ctx.layout.maxPfn * PAGE_SIZE - fdtPhys)));
  const d = decodeFdt(blob);
  if (!d.ok) {
    failedAt = { pfn: fdtPhys / PAGE_SIZE, pages: 1, what: `the kho_test FDT: ${d.message}` };
    return failed(`the kho_test FDT at ${hex(fdtPhys)} is invalid: ${d.message}`);
  }
  /** A bad property of the sub-FDT as the failure's culprit: its value's address, read in place. */
  const badProp = (path: string, name: string, what: string): void => {
    const off = decodeFdtLayout(blob).tokens.find((t) => t.tag === FDT_PROP && t.path === path && t.name === name);
    const phys = fdtPhys + (off?.valueOffset ?? 0);
    failedAt = { pfn: Math.floor(phys / PAGE_SIZE), pages: 1, phys, what };
  };
  const magic = getProp(d.root, 'magic');
  const badCompatible = fdtCheckCompatible(d.root, KHO_TEST_COMPATIBLE) !== 0;
  if (badCompatible || !magic || magic.length !== 4 || getU32(magic, 0) !== KHO_TEST_MAGIC) {
    if (badCompatible) badProp('/', 'compatible', `kho_test compatible is not "${KHO_TEST_COMPATIBLE}"`);
    else badProp('/', 'magic', `kho_test magic is not ${hex(KHO_TEST_MAGIC, 8)}`);
    return failed('the kho_test FDT has the wrong compatible or magic');
  }
  const data = d.root.children.find((c) => c.name === 'data');
  const nr = data && getProp(data, 'nr_folios');
  const csum = data && getProp(data, 'csum');
  const desc = data && getProp(data, 'folios_info');
  if (!nr || nr.length !== 4 || !csum || csum.length !== 4 || !desc || desc.length !== 16)
    return failed('the data node is malformed');
  const area = khoIn.restoreVmalloc(desc, `test_kho folios_info (restored, gen ${k.ctx.generation})`);
  if (!area) return failed('kho_restore_vmalloc of folios_info failed');
  const count = getU32(nr, 0);
  const info = new Uint8Array(area.pfns.length * PAGE_SIZE);
  area.pfns.forEach((pfn, i) => info.set(k.ram.read(pfn * PAGE_SIZE, PAGE_SIZE), i * PAGE_SIZE));
  // kho_test_restore_data(): restore and sum folio by folio; the first failure ends the loop.
  const folios: Folio[] = [];
  let sum = 0;
  let stopped = '';
  for (let i = 0; i < count && (i + 1) * 8 <= info.length; i++) {
    const entry = getU64(info, i * 8);
    const phys = entry - (entry % PAGE_SIZE);
    const order = entry % PAGE_SIZE;
    const pfn = khoIn.restoreFolio(phys, 'test_kho folios');
    if (pfn === null) {
      stopped = `folio ${i} (order ${order}) at pfn ${hex(phys / PAGE_SIZE)}: kho_restore_folio failed; folios ${i}..${count - 1} left unrestored`;
      failedAt = {
        pfn: phys / PAGE_SIZE,
        pages: 2 ** order,
        what: `test_kho folio ${i} (order ${order}): kho_restore_folio failed`,
      };
      break;
    }
    const got = k.pages.flags.get(pfn) & PG.head ? k.pages.order.get(pfn) : 0;
    if (got !== order) {
      stopped = `folio ${i} at pfn ${hex(pfn)}: order ${got}, expected ${order}; folios ${i + 1}..${count - 1} left unrestored`;
      failedAt = {
        pfn,
        pages: 2 ** Math.max(got, order),
        what: `test_kho folio ${i}: order ${got}, expected ${order}`,
      };
      break;
    }
    sum = folioCsum(k, { pfn, order }, sum);
    folios.push({ pfn, order });
  }
  k.vmalloc.free(area);
  if (sum !== getU32(csum, 0)) {
    if (!failedAt)
      badProp('/data', 'csum', `kho_test data/csum ${hex(getU32(csum, 0), 8)}: the folios sum to ${hex(sum, 8)}`);
    if (!params.chain) for (const f of folios) k.buddy.freePages(f.pfn, f.order);
    return failed(
      `${stopped ? stopped + '; ' : ''}checksum ${hex(sum, 8)} differs from the saved ${hex(getU32(csum, 0), 8)}`,
    );
  }
  k.log.info('test_kho', 'KHO restore succeeded');
  if (params.chain) {
    const e = save(k, folios, params.forget);
    if (e)
      return { ok: false, message: `KHO restore succeeded, but preserving again failed: ${e.errno} (${e.reason})` };
    return { ok: true, message: `KHO restore succeeded: ${folios.length} folios verified and preserved again` };
  }
  for (const f of folios) k.buddy.freePages(f.pfn, f.order);
  return { ok: true, message: `KHO restore succeeded: ${folios.length} folios verified (${hex(sum, 8)})` };
}
