/**
 * DOC: FLB, File-Lifecycle-Bound global state (kernel/liveupdate/luo_flb.c, Linux 7.2)
 *
 * Some state is shared by many preserved files (an IOMMU's, say). A file handler declares the FLBs
 * it depends on; LUO then preserves an FLB when the first dependent file is preserved, unpreserves
 * it when the last one goes before reboot, retrieves it lazily in the next kernel (the first
 * liveupdate_flb_get_incoming(), or the finish of its last file), and finishes it when the last
 * dependent file finishes. What crosses the kexec is one u64 per FLB plus how many files depended
 * on it, in the one-page FLB area (abi/luo-flb.ts) that luo_ser.flbs_pa points at. The area is
 * allocated at boot and its records are written only in liveupdate_reboot() (luo_flb_serialize()),
 * as the real 7.2.13 shows: before that its header says count 0.
 *
 * lib/tests/liveupdate.c (CONFIG_LIVEUPDATE_TEST) is modelled too: three FLBs
 * "liveupdate-test-flb-v0..2" registered with every file handler, whose data is
 * 0xfeedf00dcafebee0 + i — the records the fidelity artefacts hold.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError } from '../abi/abi-error';
import {
  LUO_FLB_HEADER_SER,
  LUO_FLB_MAX,
  decodeFlbArea,
  encodeFlbArea,
  flbAreaPages,
  type LuoFlbSer,
} from '../abi/luo-flb';
import { liveupdateTestFlbCompatible } from '../abi/luo-flb';
import { putU64 } from '../abi/bytes';
import { ramReader } from '../abi/phys-reader';
import { type KernelError, isErr, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';

/**
 * struct liveupdate_flb_ops: what a subsystem does with its global state. The kernel comes as an
 * argument, never captured: the ops are shared code, and a kernel restored from a timeline
 * checkpoint must log into its own log.
 */
export interface LiveupdateFlbOps {
  /** The u64 handed to the next kernel. */
  preserve(flb: LuoFlb, k: Kernel): bigint | KernelError;
  unpreserve(flb: LuoFlb, data: bigint, k: Kernel): void;
  /** Rebuilds the object from `data` (obj is what liveupdate_flb_get_incoming() returns). */
  retrieve(flb: LuoFlb, data: bigint, k: Kernel): { obj: unknown } | KernelError;
  finish(flb: LuoFlb, obj: unknown, k: Kernel): void;
}

/** struct liveupdate_flb with its luo_flb_private. */
export class LuoFlb {
  /** Handlers linked to it (private->users). */
  users = 0;
  readonly outgoing = { count: 0, data: 0n };
  readonly incoming = { count: 0, data: 0n, obj: null as unknown, retrieved: false, finished: false };
  constructor(
    readonly compatible: string,
    readonly ops: LiveupdateFlbOps,
  ) {}
}

export class FlbRegistry {
  /** luo_flb_global.list: every registered FLB, in registration order. */
  readonly list: LuoFlb[] = [];
  /** Each handler's flb_list, by handler compatible. */
  private readonly byHandler = new Map<string, LuoFlb[]>();
  /** The outgoing FLB area (luo_flb_setup_outgoing()), 0 until set up. */
  outgoingPa = 0;
  /** The previous kernel's records (luo_flb_setup_incoming()); null when it handed none. */
  incomingRecords: LuoFlbSer[] | null = null;

  constructor(private readonly k: Kernel) {}

  /** luo_flb_setup_outgoing(): one preserved page whose header says pgcnt 1, count 0. */
  setupOutgoing(): number | KernelError {
    const pages = flbAreaPages();
    const pa = this.k.khoOut!.allocPreserve(pages * PAGE_SIZE, 'LUO FLB area');
    if (isErr(pa)) return pa;
    const hdr = new Uint8Array(8);
    putU64(hdr, 0, pages);
    this.k.ram.write(pa + LUO_FLB_HEADER_SER.pgcnt, hdr);
    this.outgoingPa = pa;
    return pa;
  }

  /**
   * luo_flb_setup_incoming(): remembers where the previous kernel's area is. The kernel trusts
   * its count; the simulator refuses an area it cannot read (no FLB then comes back).
   */
  setupIncoming(flbsPa: number): void {
    if (!flbsPa) return;
    const d = decodeFlbArea(ramReader(this.k.ram), flbsPa);
    if (d instanceof AbiError) {
      this.k.log.err('kho-lab', `luo_flb: the incoming FLB area is unreadable: ${d.message}; no FLB is handed over`);
      return;
    }
    this.incomingRecords = d.flbs.map(({ name, data, count }) => ({ name, data, count }));
  }

  /** liveupdate_register_flb(): link `flb` to a registered handler; register it globally the first time. */
  register(handler: string, flb: LuoFlb): KernelError | null {
    const mine = this.byHandler.get(handler) ?? [];
    if (mine.includes(flb)) return kerr('EEXIST', `${flb.compatible} is already linked to ${handler}`);
    if (!flb.users) {
      if (this.list.length === LUO_FLB_MAX)
        return kerr('ENOSPC', `LUO holds at most LUO_FLB_MAX (${LUO_FLB_MAX}) FLBs`);
      if (this.list.some((g) => g.compatible === flb.compatible))
        return kerr('EEXIST', `an FLB named ${flb.compatible} is registered`);
      this.list.push(flb);
    }
    flb.users++;
    mine.push(flb);
    this.byHandler.set(handler, mine);
    return null;
  }

  /**
   * luo_flb_file_preserve(): each of the handler's FLBs counts one more file; the first preserves
   * it. A failure rolls back the ones this call counted.
   */
  filePreserve(handler: string): KernelError | null {
    const flbs = this.byHandler.get(handler) ?? [];
    for (const [i, flb] of flbs.entries()) {
      if (!flb.outgoing.count) {
        const data = flb.ops.preserve(flb, this.k);
        if (isErr(data)) {
          for (const done of flbs.slice(0, i).reverse()) this.unpreserveOne(done);
          return data;
        }
        flb.outgoing.data = data;
      }
      flb.outgoing.count++;
    }
    return null;
  }

  private unpreserveOne(flb: LuoFlb): void {
    if (--flb.outgoing.count) return;
    flb.ops.unpreserve(flb, flb.outgoing.data, this.k);
    flb.outgoing.data = 0n;
  }

  /** luo_flb_file_unpreserve(): the handler's FLBs in reverse; the last file unpreserves each. */
  fileUnpreserve(handler: string): void {
    for (const flb of [...(this.byHandler.get(handler) ?? [])].reverse()) this.unpreserveOne(flb);
  }

  /**
   * luo_flb_retrieve_one(): ENODATA once finished or with no incoming area, ENOENT when the
   * previous kernel had no record of this name; else the handler's retrieve, once.
   */
  retrieveOne(flb: LuoFlb): KernelError | null {
    const inc = flb.incoming;
    if (inc.finished) return kerr('ENODATA', `${flb.compatible} was finished`);
    if (inc.retrieved) return null;
    if (!this.incomingRecords) return kerr('ENODATA', 'no incoming FLB data');
    const rec = this.incomingRecords.find((r) => r.name === flb.compatible);
    if (!rec) return kerr('ENOENT', `the previous kernel handed over no FLB ${flb.compatible}`);
    inc.data = rec.data;
    inc.count = rec.count;
    const r = flb.ops.retrieve(flb, rec.data, this.k);
    if (isErr(r)) return r;
    inc.obj = r.obj;
    inc.retrieved = true;
    return null;
  }

  /** liveupdate_flb_get_incoming(): the live object, retrieved on first use. */
  getIncoming(flb: LuoFlb): unknown {
    if (!flb.incoming.obj) {
      const e = this.retrieveOne(flb);
      if (e) return e;
    }
    return flb.incoming.obj;
  }

  /**
   * luo_flb_file_finish(): the handler's FLBs in reverse; each counts one file less and the last
   * finishes it (retrieving it first if nobody did; a failure there is a WARN and no finish).
   */
  fileFinish(handler: string): void {
    for (const flb of [...(this.byHandler.get(handler) ?? [])].reverse()) {
      const inc = flb.incoming;
      if (--inc.count) continue;
      if (!inc.retrieved && this.retrieveOne(flb)) {
        this.k.warn('kernel/liveupdate/luo_flb.c', 'luo_flb_file_finish_one');
        continue;
      }
      flb.ops.finish(flb, inc.obj, this.k);
      inc.data = 0n;
      inc.obj = null;
      inc.finished = true;
    }
  }

  /** luo_flb_serialize() (liveupdate_reboot()): a record for every FLB some file still depends on. */
  serialize(): void {
    if (!this.outgoingPa) return;
    const recs = this.list
      .filter((f) => f.outgoing.count > 0)
      .map((f) => ({ name: f.compatible, data: f.outgoing.data, count: f.outgoing.count }));
    this.k.ram.write(this.outgoingPa, encodeFlbArea(recs));
  }
}

/** lib/tests/liveupdate.c: TEST_FLB_MAGIC_BASE + the FLB's index is its data. */
const TEST_FLB_MAGIC_BASE = 0xfeedf00dcafebee0n;
const TEST_NFLBS = 3;

const say = (k: Kernel, flb: LuoFlb, what: string) => k.log.info('liveupdate test', `${flb.compatible}: ${what}`);
/** TEST_FLB_MAGIC_BASE + i for test_flbs[i], whose compatible ends in its index. */
const magic = (flb: LuoFlb) => TEST_FLB_MAGIC_BASE + BigInt(flb.compatible.slice(flb.compatible.lastIndexOf('v') + 1));

/** lib/tests/liveupdate.c's flb ops: they log what was triggered and check the data handle. */
const TEST_FLB_OPS: LiveupdateFlbOps = {
  preserve: (flb, k) => {
    say(k, flb, 'preserve was triggered');
    return magic(flb);
  },
  unpreserve: (flb, _data, k) => say(k, flb, 'unpreserve was triggered'),
  retrieve: (flb, data, k) => {
    if (data !== magic(flb)) {
      k.log.err(
        'liveupdate test',
        `${flb.compatible}: ERROR - incorrect data handle: ${data.toString(16)}, expected ${magic(flb).toString(16)}`,
      );
      return kerr('EINVAL', `${flb.compatible}: incorrect data handle`);
    }
    say(k, flb, 'found flb data from the previous boot');
    return { obj: data };
  },
  finish: (flb, obj, k) => {
    if (obj === magic(flb)) say(k, flb, 'finish was triggered');
    else k.log.err('liveupdate test', `${flb.compatible}: ERROR - finish called with invalid object`);
  },
};

/** The test FLBs of CONFIG_LIVEUPDATE_TEST (test_flbs[]). */
export function liveupdateTestFlbs(): LuoFlb[] {
  return Array.from({ length: TEST_NFLBS }, (_, i) => new LuoFlb(liveupdateTestFlbCompatible(i), TEST_FLB_OPS));
}

/**
 * liveupdate_test_register() (called by liveupdate_register_file_handler()): the first call asks
 * for each test FLB's incoming object (liveupdate_test_init(): ENODATA and ENOENT are quiet), then
 * every call links the three to `handler` and checks that a second link is EEXIST.
 */
export function liveupdateTestRegister(k: Kernel, reg: FlbRegistry, flbs: LuoFlb[], handler: string): void {
  if (!flbs.some((f) => f.users)) {
    for (const flb of flbs) {
      const r = reg.getIncoming(flb);
      if (isErr(r) && r.errno !== 'ENODATA' && r.errno !== 'ENOENT')
        k.log.err('liveupdate test', `liveupdate_flb_get_incoming for ${flb.compatible} failed: -${r.errno}`);
    }
  }
  for (const flb of flbs) {
    const e = reg.register(handler, flb);
    if (e) k.log.err('liveupdate test', `Failed to register ${flb.compatible} -${e.errno}`);
  }
  const again = reg.register(handler, flbs[0]!);
  if (!again || again.errno !== 'EEXIST')
    k.log.err('liveupdate test', `Failed: ${flbs[0]!.compatible} should be already registered`);
  k.log.info('liveupdate test', `Registered ${flbs.length} FLBs with file handler: [${handler}]`);
}
