/**
 * DOC: what the LUO inspector can open
 *
 * LUO's records that a LuoView points at (include/linux/kho/abi/luo.h): this kernel's session
 * block and each outgoing session's luo_file_ser array, the previous kernel's session block until
 * the first open of /dev/liveupdate frees it, and each incoming session's array until FINISH
 * frees it. After kexec -e no kernel describes RAM: the block handed over is found the way the
 * next kernel will find it, from the boot parameters' root FDT → "LUO" sub-FDT →
 * luo-session-header.
 */
import type { SimApi } from '../../../shared/api';
import type { KhoView, LuoView, RecordRequest } from '../../../shared/views';
import { fdtU64 } from './kho-targets';

export interface LuoTarget {
  /** Stable across steps: `out:block`, `in:files:vmm-state`. */
  key: string;
  label: string;
  side: 'outgoing' | 'incoming';
  req: RecordRequest;
}

/** Every LUO record there is to read, outgoing first. */
export function luoTargets(luo: LuoView | null, handedOver: number | null): LuoTarget[] {
  const t: LuoTarget[] = [];
  if (luo?.storage === 'luo_ser-blocks') return luoSerTargets(luo);
  if (luo) {
    t.push({
      key: 'out:block',
      label: 'outgoing session block',
      side: 'outgoing',
      req: { kind: 'luo-session-block', phys: luo.sessionBlockPhys },
    });
    for (const s of luo.outgoing) {
      if (s.filesPhys)
        t.push({
          key: `out:files:${s.name}`,
          label: `outgoing files "${s.name}"`,
          side: 'outgoing',
          req: { kind: 'luo-file-array', phys: s.filesPhys, count: s.files.length },
        });
    }
    if (luo.incomingHeaderPhys)
      t.push({
        key: 'in:block',
        label: 'incoming session block',
        side: 'incoming',
        req: { kind: 'luo-session-block', phys: luo.incomingHeaderPhys },
      });
    for (const s of luo.incoming) {
      if (s.filesPhys)
        t.push({
          key: `in:files:${s.name}`,
          label: `incoming files "${s.name}"`,
          side: 'incoming',
          req: { kind: 'luo-file-array', phys: s.filesPhys, count: s.files.length },
        });
    }
  } else if (handedOver) {
    t.push({
      key: 'in:block',
      label: 'handed-over session block',
      side: 'incoming',
      req: { kind: 'luo-session-block', phys: handedOver },
    });
  }
  return t;
}

/**
 * 7.2 (kernel/liveupdate/luo_core.c, luo_session.c, luo_file.c): the outgoing luo_ser, the session
 * kho_block chain it will point at (sessions_pa is written only at reboot, so the chain head comes
 * from the session store) and each session's file chain; incoming, each retrieved session's file
 * chain until FINISH frees it. The previous kernel's luo_ser is freed at early boot: not offered.
 */
function luoSerTargets(luo: LuoView): LuoTarget[] {
  const t: LuoTarget[] = [];
  if (luo.fdtPhys)
    t.push({
      key: 'out:luo_ser',
      label: 'outgoing luo_ser',
      side: 'outgoing',
      req: { kind: 'luo-ser', phys: luo.fdtPhys },
    });
  if (luo.sessionBlockPhys)
    t.push({
      key: 'out:block',
      label: 'outgoing session blocks',
      side: 'outgoing',
      req: { kind: 'luo-session-blocks', phys: luo.sessionBlockPhys },
    });
  for (const [side, sessions] of [
    ['outgoing', luo.outgoing],
    ['incoming', luo.incoming],
  ] as const)
    for (const s of sessions)
      if (s.filesPhys)
        t.push({
          key: `${side === 'outgoing' ? 'out' : 'in'}:files:${s.name}`,
          label: `${side} file blocks "${s.name}"`,
          side,
          req: { kind: 'luo-file-blocks', phys: s.filesPhys },
        });
  return t;
}

/** The chosen target if it still exists; else the incoming block, else the first. */
export function pickLuoTarget(targets: readonly LuoTarget[], chosen: string | null): LuoTarget | null {
  return targets.find((t) => t.key === chosen) ?? targets.find((t) => t.key === 'in:block') ?? targets[0] ?? null;
}

/** What each record kind is called in the target list, in the kernel's terms. */
const RECORD_LABELS: Record<RecordRequest['kind'], string> = {
  'luo-session-block': 'luo_session_ser block',
  'luo-file-array': 'luo_file_ser[]',
  'memfd-luo-ser': 'memfd_luo_ser',
  'kho-vmalloc-chunk': 'kho_vmalloc_chunk',
  'memfd-folio-array': 'memfd_luo_folio_ser[]',
  'memfd-fdt': 'memfd FDT',
  'kho-array-page': 'kho_array_page',
  fdt: 'FDT',
  'kho-mem-chunk': 'khoser_mem_chunk',
  'kho-radix-node': 'kho_radix_node',
  'luo-ser': 'luo_ser',
  'luo-session-blocks': 'kho_block of luo_session_ser',
  'luo-file-blocks': 'kho_block of luo_file_ser',
  'luo-flb-area': 'luo_flb_header_ser',
  'memfd-v2-ser': 'memfd_luo_ser (v2)',
  'kexec-metadata': 'kho_kexec_metadata',
  'setup-data': 'setup_data',
};

/** The target a record request opens: a known one at that address, or one made for it. */
export function targetFor(targets: readonly LuoTarget[], req: RecordRequest): LuoTarget {
  return (
    targets.find((t) => t.req.kind === req.kind && t.req.phys === req.phys) ?? {
      key: `at:${req.kind}:${req.phys}`,
      label: `${RECORD_LABELS[req.kind]} at 0x${req.phys.toString(16)}`,
      side: 'incoming',
      req,
    }
  );
}

/**
 * After kexec -e (no kernel): the session block the boot parameters lead to, read from RAM as
 * luo_early_startup() will — root FDT, its "LUO" node's `fdt`, that FDT's luo-session-header.
 */
export async function handedOverSessionBlock(api: Pick<SimApi, 'fdt'>, kho: KhoView | null): Promise<number | null> {
  const root = kho && !kho.running ? kho.entryFdtPhys : null;
  if (!root) return null;
  const r = await api.fdt(root);
  const luoFdt = r.ok ? fdtU64(r.value, '/LUO', 'fdt') : null;
  if (!luoFdt) return null;
  const l = await api.fdt(luoFdt);
  return l.ok ? fdtU64(l.value, '/luo-session', 'luo-session-header') : null;
}
