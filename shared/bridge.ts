/**
 * DOC: the window.khoLab bridge
 *
 * What the preload exposes to the renderer and the IPC channel names both sides of that bridge
 * use. The renderer declares the global with `import type { KhoLabBridge }` from here; this file
 * holds no Electron or Node code, so a type-only import pulls nothing into the renderer bundle.
 */
import type { Result, SimClient } from './api';

/** Renderer → main: `invoke(CALL_CHANNEL, method, args)` answers a Result. */
export const CALL_CHANNEL = 'kholab:call';
/** Main → renderer: one Progress object per message while a long step runs. */
export const PROGRESS_CHANNEL = 'kholab:progress';
/** Main → renderer: a MenuAction when the application menu wants the UI to act. */
export const MENU_CHANNEL = 'kholab:menu';
/** Renderer → main: `invoke(SAVE_CHANNEL, request)`; main asks where in a save dialog and answers a Result. */
export const SAVE_CHANNEL = 'kholab:save';

/**
 * 'new-machine': open the New Machine dialog.
 * 'state-changed': main changed the session (a scenario was opened); fetch state() again.
 * 'compare-memfd': open the memfd format comparison.
 * 'matrix': open the kernel compatibility matrix.
 */
export type MenuAction = 'new-machine' | 'state-changed' | 'compare-memfd' | 'matrix';

/**
 * Text the renderer produced (a CSV or JSON export) for main to write. The renderer never names a
 * path: `name` only seeds the save dialog, and main keeps nothing of it but a plain file name.
 */
export interface SaveTextRequest {
  /** Picks the dialog's file filter and the extension. */
  kind: 'csv' | 'json';
  name: string;
  text: string;
}

/** Written (the file's name, not its directory), or the user cancelled the dialog. */
export type SaveTextOutcome = { saved: true; name: string } | { saved: false };

export type KhoLabBridge = SimClient & {
  /** Subscribes to application-menu actions; returns the unsubscribe function. */
  onMenu(listener: (action: MenuAction) => void): () => void;
  /** Saves text where the user chooses in a native save dialog. */
  saveText(request: SaveTextRequest): Promise<Result<SaveTextOutcome>>;
};
