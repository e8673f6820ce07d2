/**
 * DOC: memory map loader
 *
 * Fetches map viewports from the host without flooding it: requests made during one animation
 * frame collapse into the last one, at most one request is in flight, and a response is dropped
 * when a newer one has already been shown or when the caller says it no longer fits (the zoom
 * changed while it was on its way).
 */
import type { Result } from '../../../shared/api';
import type { MapView, MapViewRequest } from '../../../shared/views';

export type FetchView = (req: MapViewRequest) => Promise<Result<MapView>>;

export interface LoaderHooks {
  /** A response arrived and is not stale; `fits` decided it still matches the screen. */
  onView(view: MapView): void;
  onError(message: string): void;
  /** Whether a response for `req` can still be drawn (same cell geometry as the screen now). */
  fits(req: MapViewRequest): boolean;
}

type Schedule = (cb: () => void) => void;

const sameRequest = (a: MapViewRequest, b: MapViewRequest) =>
  a.firstPfn === b.firstPfn && a.pagesPerCell === b.pagesPerCell && a.cells === b.cells;

export class MapLoader {
  #pending: MapViewRequest | null = null;
  #frameQueued = false;
  #inFlight = false;
  #sent = 0;
  #shown = 0;
  #last: MapViewRequest | null = null;
  #disposed = false;

  constructor(
    private readonly fetchView: FetchView,
    private readonly hooks: LoaderHooks,
    private readonly schedule: Schedule = (cb) => requestAnimationFrame(() => cb()),
  ) {}

  /** Asks for `req` at the next frame; `force` re-fetches even if it equals the last request. */
  request(req: MapViewRequest, force = false): void {
    if (!force && !this.#pending && this.#last && sameRequest(req, this.#last)) return;
    this.#pending = req;
    if (!this.#frameQueued) {
      this.#frameQueued = true;
      this.schedule(() => {
        this.#frameQueued = false;
        this.#pump();
      });
    }
  }

  dispose(): void {
    this.#disposed = true;
    this.#pending = null;
  }

  /** True when nothing is queued or in flight: what is on screen is the newest answer. */
  get idle(): boolean {
    return !this.#pending && !this.#inFlight && !this.#frameQueued;
  }

  /** Number of requests sent to the host so far (for tests and the status line). */
  get sent(): number {
    return this.#sent;
  }

  #pump(): void {
    if (this.#inFlight || !this.#pending || this.#disposed) return;
    const req = this.#pending;
    this.#pending = null;
    this.#inFlight = true;
    this.#last = req;
    const serial = ++this.#sent;
    this.fetchView(req).then(
      (r) => this.#settle(serial, req, r),
      (e: unknown) => this.#settle(serial, req, { ok: false, error: { code: 'unavailable', message: String(e) } }),
    );
  }

  #settle(serial: number, req: MapViewRequest, r: Result<MapView>): void {
    this.#inFlight = false;
    if (this.#disposed) return;
    if (serial > this.#shown) {
      if (!r.ok) this.hooks.onError(r.error.message);
      else if (this.hooks.fits(req)) {
        this.#shown = serial;
        this.hooks.onView(r.value);
      }
    }
    if (this.#pending) this.#pump();
  }
}
