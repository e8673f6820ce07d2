/**
 * DOC: the application menu
 *
 * File, View and Help. The File actions move files between disk and the host (open a scenario,
 * save the session as a scenario, export a report, export RAM as a vmcore); they live here, not
 * in the renderer, because only main may touch the file system. Every failure — a dialog, the
 * disk, the host — ends in an error box naming the file and the problem; no menu action can throw.
 * saveText writes the renderer's own exports (the memfd comparison) the same way, to a path only
 * the save dialog chooses, and answers a Result the renderer shows instead of an error box.
 */
import {
  Menu,
  app,
  dialog,
  type BrowserWindow,
  type MenuItemConstructorOptions,
  type OpenDialogOptions,
  type SaveDialogOptions,
} from 'electron';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result, type SimApi } from '../shared/api';
import type { MenuAction, SaveTextOutcome, SaveTextRequest } from '../shared/bridge';
import type { DumpView } from '../shared/views';

export interface MenuDeps {
  api: SimApi;
  /** The window dialogs attach to, if there is one. */
  window: () => BrowserWindow | null;
  /** Tells the renderer about a menu action (webContents.send on MENU_CHANNEL). */
  notify: (action: MenuAction) => void;
  /** Unpackaged runs get Reload and Toggle Developer Tools; a packaged app has neither. */
  isDev: boolean;
  platform?: NodeJS.Platform;
}

/** The same cap the API puts on scenario text; refuse before reading a huge file into memory. */
const MAX_SCENARIO_BYTES = 64 * 1024 * 1024;
const JSON_FILTERS = [{ name: 'JSON', extensions: ['json'] }];

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
/** A default file name from a scenario name, which may hold anything a user typed. */
const fileName = (base: string, suffix: string) =>
  `${base.replace(/[^\w.-]+/g, '-').replace(/^[.-]+/, '') || 'kho-lab'}${suffix}`;
/** An error text that names the file: the host's messages already start with it, fs errors may not. */
const naming = (file: string, problem: string) => (problem.startsWith(file) ? problem : `${file}\n\n${problem}`);

async function openPath(deps: MenuDeps, options: OpenDialogOptions): Promise<string | null> {
  const parent = deps.window();
  const r = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
  return r.canceled ? null : (r.filePaths[0] ?? null);
}

async function savePath(deps: MenuDeps, options: SaveDialogOptions): Promise<string | null> {
  const parent = deps.window();
  const r = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
  return r.canceled || !r.filePath ? null : r.filePath;
}

/** Runs a menu action; whatever goes wrong is shown, never thrown. */
async function guarded(title: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    dialog.showErrorBox(title, message(e));
  }
}

/** Writes `value` as JSON; a write error names the file. */
async function writeJson(title: string, file: string, value: unknown): Promise<void> {
  try {
    await writeFile(file, JSON.stringify(value, null, 2) + '\n', 'utf8');
  } catch (e) {
    dialog.showErrorBox(title, naming(file, message(e)));
  }
}

export function openScenario(deps: MenuDeps): Promise<void> {
  const title = 'Could not open scenario';
  return guarded(title, async () => {
    const file = await openPath(deps, { title: 'Open Scenario', filters: JSON_FILTERS, properties: ['openFile'] });
    if (!file) return;
    let text: string;
    try {
      const { size } = await stat(file);
      if (size > MAX_SCENARIO_BYTES)
        throw new Error(`the file is ${size} bytes; scenarios are limited to ${MAX_SCENARIO_BYTES} bytes`);
      text = await readFile(file, 'utf8');
    } catch (e) {
      dialog.showErrorBox(title, naming(file, message(e)));
      return;
    }
    const r = await deps.api.loadScenario(text, file);
    if (!r.ok) {
      dialog.showErrorBox(title, naming(file, r.error.message));
      return;
    }
    deps.notify('state-changed');
  });
}

export function saveScenario(deps: MenuDeps): Promise<void> {
  const title = 'Could not save scenario';
  return guarded(title, async () => {
    const r = await deps.api.scenario();
    if (!r.ok) return dialog.showErrorBox(title, r.error.message);
    const file = await savePath(deps, {
      title: 'Save Scenario',
      defaultPath: fileName(r.value.name, '.json'),
      filters: JSON_FILTERS,
    });
    if (file) await writeJson(title, file, r.value);
  });
}

export function exportReport(deps: MenuDeps): Promise<void> {
  const title = 'Could not export report';
  return guarded(title, async () => {
    const r = await deps.api.report();
    if (!r.ok) return dialog.showErrorBox(title, r.error.message);
    const file = await savePath(deps, {
      title: 'Export Report',
      defaultPath: fileName(r.value.scenario, '-report.json'),
      filters: JSON_FILTERS,
    });
    if (file) await writeJson(title, file, r.value);
  });
}

/** Writes `data` to a temporary file and renames it, so a failure leaves nothing half-written. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * File → Export Memory as vmcore…: RAM at the current step of the timeline as an ELF vmcore that
 * drgn, crash and gdb open (the pages in use; the host refuses one over 1 GiB), written atomically.
 */
export function exportVmcore(deps: MenuDeps): Promise<void> {
  const title = 'Could not export vmcore';
  return guarded(title, async () => {
    const s = await deps.api.scenario();
    if (!s.ok) return dialog.showErrorBox(title, s.error.message);
    const file = await savePath(deps, {
      title: 'Export Memory as vmcore',
      defaultPath: fileName(s.value.name, `-step${s.value.steps.length}.vmcore`),
      filters: [{ name: 'ELF core (vmcore)', extensions: ['vmcore', 'core'] }],
    });
    if (!file) return;
    const r = await deps.api.vmcore(false);
    if (!r.ok) return dialog.showErrorBox(title, naming(file, r.error.message));
    try {
      await writeAtomic(file, r.value);
    } catch (e) {
      dialog.showErrorBox(title, naming(file, message(e)));
    }
  });
}

const SAVE_FILTERS: Record<SaveTextRequest['kind'], { name: string; extensions: string[] }> = {
  csv: { name: 'CSV', extensions: ['csv'] },
  json: { name: 'JSON', extensions: ['json'] },
};

/**
 * Saves text the renderer exported (a request ipc.ts has validated). The path comes from the save
 * dialog only; the renderer's name, stripped of any directory and given the kind's extension,
 * merely seeds it.
 */
export async function saveText(deps: MenuDeps, request: SaveTextRequest): Promise<Result<SaveTextOutcome>> {
  const ext = `.${request.kind}`;
  const base = path.basename(request.name.replace(/\\/g, '/'));
  const suggested = fileName(base.toLowerCase().endsWith(ext) ? base.slice(0, -ext.length) : base, ext);
  let file: string | null;
  try {
    file = await savePath(deps, {
      title: `Export ${request.kind.toUpperCase()}`,
      defaultPath: suggested,
      filters: [SAVE_FILTERS[request.kind]],
    });
  } catch (e) {
    return fail('unavailable', `save dialog: ${message(e)}`);
  }
  if (!file) return ok({ saved: false });
  try {
    await writeAtomic(file, request.text);
  } catch (e) {
    const problem = message(e);
    return fail('unavailable', problem.includes(file) ? problem : `${file}: ${problem}`);
  }
  return ok({ saved: true, name: path.basename(file) });
}

/** ELF cores: QEMU's dump-guest-memory, /proc/vmcore, KHO Lab's own export. */
const DUMP_FILTERS = [
  { name: 'Memory dump (ELF core)', extensions: ['elf', 'vmcore', 'core', 'dump'] },
  { name: 'All files', extensions: ['*'] },
];

/**
 * File → Open Memory Dump… (through the renderer, which shows the outcome): the user picks an ELF
 * core in a native dialog and the host opens it read-only, streamed from disk. The path comes from
 * the dialog only. Null when the user cancels; a dump the host refuses is a failure naming why.
 */
export async function openDumpDialog(deps: MenuDeps): Promise<Result<DumpView | null>> {
  let file: string | null;
  try {
    file = await openPath(deps, { title: 'Open Memory Dump', filters: DUMP_FILTERS, properties: ['openFile'] });
  } catch (e) {
    return fail('unavailable', `open dialog: ${message(e)}`);
  }
  if (!file) return ok(null);
  return deps.api.openDump(file);
}

export function showAbout(deps: MenuDeps): Promise<void> {
  return guarded('About KHO Lab', async () => {
    const v = process.versions;
    const options = {
      type: 'info' as const,
      title: 'About KHO Lab',
      message: `KHO Lab ${app.getVersion()}`,
      detail: `A lab for Linux Kexec HandOver.\n\nElectron ${v.electron}\nChromium ${v.chrome}\nNode ${v.node}`,
      buttons: ['OK'],
    };
    const parent = deps.window();
    await (parent ? dialog.showMessageBox(parent, options) : dialog.showMessageBox(options));
  });
}

export function menuTemplate(deps: MenuDeps): MenuItemConstructorOptions[] {
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { label: 'New Machine…', accelerator: 'CmdOrCtrl+N', click: () => deps.notify('new-machine') },
      { type: 'separator' },
      { label: 'Open Scenario…', accelerator: 'CmdOrCtrl+O', click: () => void openScenario(deps) },
      { label: 'Save Scenario…', accelerator: 'CmdOrCtrl+S', click: () => void saveScenario(deps) },
      { label: 'Export Report…', accelerator: 'CmdOrCtrl+E', click: () => void exportReport(deps) },
      { label: 'Export Memory as vmcore…', click: () => void exportVmcore(deps) },
      { type: 'separator' },
      { label: 'Open Memory Dump…', accelerator: 'CmdOrCtrl+Shift+O', click: () => deps.notify('open-dump') },
      { label: 'Compare Dump with Simulation…', click: () => deps.notify('compare-sim') },
      { type: 'separator' },
      { role: 'quit' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      { label: 'Compare memfd Formats…', click: () => deps.notify('compare-memfd') },
      { label: 'Kernel Compatibility Matrix…', click: () => deps.notify('matrix') },
      { type: 'separator' },
      ...(deps.isDev ? [{ role: 'reload' } as const, { type: 'separator' } as const] : []),
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { role: 'resetZoom' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      // A packaged app has no DevTools (the window is created without them).
      ...(deps.isDev ? [{ role: 'toggleDevTools' } as const] : []),
    ],
  };
  const help: MenuItemConstructorOptions = {
    label: 'Help',
    submenu: [{ label: 'About KHO Lab', click: () => void showAbout(deps) }],
  };
  // macOS puts the application's own menu first; elsewhere File leads.
  const appMenu: MenuItemConstructorOptions[] =
    (deps.platform ?? process.platform) === 'darwin' ? [{ role: 'appMenu' }] : [];
  return [...appMenu, file, view, help];
}

export function installMenu(deps: MenuDeps): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(deps)));
}
