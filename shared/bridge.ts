/**
 * DOC: the window.khoLab bridge
 *
 * What the preload exposes to the renderer and the IPC channel names both sides of that bridge
 * use. The renderer declares the global with `import type { KhoLabBridge }` from here; this file
 * holds no Electron or Node code, so a type-only import pulls nothing into the renderer bundle.
 */
import type { Result, SimClient } from './api';
import type { RealScenario } from './side-by-side';
import type { DumpView } from './views';

/** Renderer → main: `invoke(CALL_CHANNEL, method, args)` answers a Result. */
export const CALL_CHANNEL = 'kholab:call';
/** Main → renderer: one Progress object per message while a long step runs. */
export const PROGRESS_CHANNEL = 'kholab:progress';
/** Main → renderer: a MenuAction when the application menu wants the UI to act. */
export const MENU_CHANNEL = 'kholab:menu';
/** Renderer → main: `invoke(SAVE_CHANNEL, request)`; main asks where in a save dialog and answers a Result. */
export const SAVE_CHANNEL = 'kholab:save';
/**
 * Renderer → main: `invoke(OPEN_DUMP_CHANNEL)`, no arguments; main asks which file in an open
 * dialog, has the host open it, and answers a Result (null: the user cancelled).
 */
export const OPEN_DUMP_CHANNEL = 'kholab:open-dump';
/**
 * Renderer → main: `invoke(LAUNCH_CHANNEL)`, no arguments, once at start-up; main opens what its
 * command line names (`--real DUMP [--sim SIMDUMP | --scenario NAME]`, electron/launch-args.ts)
 * and answers what it opened, or null when the command line named nothing (or was refused).
 */
export const LAUNCH_CHANNEL = 'kholab:open-launch';

/** What the command line opened: the real dump, and what to show beside it. */
export interface LaunchOpened {
  dump: DumpView;
  /** 'sim-dump': the host already holds the comparison (--sim); a scenario: run it beside the dump. */
  compare: 'sim-dump' | { scenario: RealScenario } | null;
  /** The --sim file could not be read: why (the real dump is open). */
  warning?: string;
}

/**
 * 'new-machine': open the New Machine dialog.
 * 'state-changed': main changed the session (a scenario was opened); fetch state() again.
 * 'compare-memfd': open the memfd format comparison.
 * 'matrix': open the kernel compatibility matrix.
 * 'open-dump': File → Open Memory Dump…; the renderer calls openDumpDialog() and shows the outcome.
 * 'compare-sim': File → Compare Dump with Simulation…; the open dump beside a simulated scenario.
 */
export type MenuAction = 'new-machine' | 'state-changed' | 'compare-memfd' | 'matrix' | 'open-dump' | 'compare-sim';

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
  /** Opens a memory dump the user picks in a native open dialog; null when they cancel. */
  openDumpDialog(): Promise<Result<DumpView | null>>;
  /** What the app's command line opened (first call only; null afterwards or when it named nothing). */
  openFromCommandLine(): Promise<Result<LaunchOpened | null>>;
};
