import { describe, expect, it } from 'vitest';
import type { Result } from '../../../shared/api';
import type { MapView, MapViewRequest } from '../../../shared/views';
import { MapLoader } from '../../../renderer/src/lib/map-loader';

function harness(fits: (r: MapViewRequest) => boolean = () => true) {
  const frames: Array<() => void> = [];
  const calls: Array<{ req: MapViewRequest; resolve: (r: Result<MapView>) => void }> = [];
  const shown: MapView[] = [];
  const errors: string[] = [];
  const loader = new MapLoader(
    (req) => new Promise((resolve) => calls.push({ req, resolve })),
    { onView: (v) => shown.push(v), onError: (m) => errors.push(m), fits },
    (cb) => frames.push(cb),
  );
  const frame = () => frames.splice(0).forEach((f) => f());
  const answer = (i: number) =>
    calls[i]!.resolve({ ok: true, value: { ...calls[i]!.req, cells: new Uint8Array(calls[i]!.req.cells) } });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  return { loader, frames, calls, shown, errors, frame, answer, flush };
}

const req = (firstPfn: number, pagesPerCell = 1, cells = 16): MapViewRequest => ({ firstPfn, pagesPerCell, cells });

describe('MapLoader', () => {
  it('coalesces requests within a frame into the last one', () => {
    const h = harness();
    h.loader.request(req(0));
    h.loader.request(req(16));
    h.loader.request(req(32));
    expect(h.calls).toHaveLength(0);
    expect(h.frames).toHaveLength(1);
    h.frame();
    expect(h.calls.map((c) => c.req.firstPfn)).toEqual([32]);
  });

  it('keeps one request in flight and sends only the newest pending one after it', async () => {
    const h = harness();
    h.loader.request(req(0));
    h.frame();
    for (const p of [16, 32, 48]) {
      h.loader.request(req(p));
      h.frame();
    }
    expect(h.calls).toHaveLength(1);
    h.answer(0);
    await h.flush();
    expect(h.calls.map((c) => c.req.firstPfn)).toEqual([0, 48]);
    expect(h.shown.map((v) => v.firstPfn)).toEqual([0]);
  });

  it('drops a response whose geometry no longer fits the screen', async () => {
    let ppc = 1;
    const h = harness((r) => r.pagesPerCell === ppc);
    h.loader.request(req(0, 1));
    h.frame();
    ppc = 4;
    h.loader.request(req(0, 4));
    h.frame();
    h.answer(0);
    await h.flush();
    expect(h.shown).toHaveLength(0);
    h.answer(1);
    await h.flush();
    expect(h.shown.map((v) => v.pagesPerCell)).toEqual([4]);
  });

  it('skips a request equal to the last one unless forced', async () => {
    const h = harness();
    h.loader.request(req(0));
    h.frame();
    h.answer(0);
    await h.flush();
    h.loader.request(req(0));
    expect(h.frames).toHaveLength(0);
    h.loader.request(req(0), true);
    h.frame();
    expect(h.calls).toHaveLength(2);
  });

  it('reports errors and rejections without throwing', async () => {
    const errors: string[] = [];
    const loader = new MapLoader(
      () => Promise.reject(new Error('worker died')),
      { onView: () => {}, onError: (m) => errors.push(m), fits: () => true },
      (cb) => cb(),
    );
    loader.request(req(0));
    await new Promise((r) => setTimeout(r, 0));
    expect(errors[0]).toContain('worker died');
  });
});
