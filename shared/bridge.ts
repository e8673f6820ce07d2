/**
 * DOC: the window.khoLab bridge
 *
 * What the preload exposes to the renderer and the IPC channel names both sides of that bridge
 * use. The renderer declares the global with `import type { KhoLabBridge }` from here; this file
 * holds no Electron or Node code, so a type-only import pulls nothing into the renderer bundle.
 */
import type { SimClient } from './api';

/** Renderer → main: `invoke(CALL_CHANNEL, method, args)` answers a Result. */
export const CALL_CHANNEL = 'kholab:call';
/** Main → renderer: one Progress object per message while a long step runs. */
export const PROGRESS_CHANNEL = 'kholab:progress';
/** Main → renderer: a MenuAction when the application menu wants the UI to act. */
export const MENU_CHANNEL = 'kholab:menu';

/**
 * 'new-machine': open the New Machine dialog.
 * 'state-changed': main changed the session (a scenario was opened); fetch state() again.
 */
export type MenuAction = 'new-machine' | 'state-changed';

export type KhoLabBridge = SimClient & {
  /** Subscribes to application-menu actions; returns the unsubscribe function. */
  onMenu(listener: (action: MenuAction) => void): () => void;
};
