/**
 * DOC: the IPC transport
 *
 * One channel carries every SimApi call from the renderer. Each call is checked twice here — who
 * sent it, and whether the method and arguments fit the shared schemas — and every outcome,
 * refusals included, goes back as a Result: the renderer never sees an exception from main.
 * A second channel lets the renderer save an export (CSV, JSON) it built: checked the same way,
 * and it never carries a path — main asks the user where, in a save dialog.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { z } from 'zod';
import { fail, validateCall, type Result, type SimApi } from '../shared/api';
import { dispatch } from '../shared/rpc';
import {
  CALL_CHANNEL,
  LAUNCH_CHANNEL,
  type LaunchOpened,
  OPEN_DUMP_CHANNEL,
  SAVE_CHANNEL,
  type SaveTextOutcome,
  type SaveTextRequest,
} from '../shared/bridge';
import type { DumpView } from '../shared/views';

export interface IpcOptions {
  ipcMain: IpcMain;
  api: SimApi;
  /** Whether a call comes from our window's own frame (window.ts isOwnFrame). */
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
}

export async function handleCall(
  opts: IpcOptions,
  event: IpcMainInvokeEvent,
  method: unknown,
  args: unknown,
): Promise<Result<unknown>> {
  try {
    if (!opts.isTrustedSender(event)) {
      return fail('invalid-argument', `${String(method)}: refused, the call does not come from the KHO Lab window`);
    }
    // Only main names a file to open (from its own dialog): the renderer asks through OPEN_DUMP_CHANNEL.
    if (method === 'openDump' || method === 'compareWithDump')
      return fail('invalid-argument', `${method}: the window cannot name a file; use File → Open Memory Dump…`);
    const v = validateCall(method, args);
    if (!v.ok) return v;
    // The original arguments go on: the host worker parses them again with the same schemas.
    return await dispatch(opts.api, v.value.method, args as unknown[]);
  } catch (e) {
    return fail('internal', `${String(method)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Registers the handler; returns a function that removes it. */
export function registerIpc(opts: IpcOptions): () => void {
  opts.ipcMain.handle(CALL_CHANNEL, (event, method: unknown, args: unknown) => handleCall(opts, event, method, args));
  return () => opts.ipcMain.removeHandler(CALL_CHANNEL);
}

/** An export larger than this is refused before any dialog opens (a comparison's JSON is ~100 KiB). */
export const MAX_SAVE_TEXT = 32 * 1024 * 1024;

const SaveTextSchema = z
  .object({
    kind: z.enum(['csv', 'json']),
    name: z.string().min(1).max(255),
    text: z.string().max(MAX_SAVE_TEXT, `the text is longer than ${MAX_SAVE_TEXT} characters`),
  })
  .strict() satisfies z.ZodType<SaveTextRequest>;

export interface SaveIpcOptions {
  ipcMain: IpcMain;
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
  /** Asks for the path in a save dialog and writes the text there (menu.ts saveText). */
  save: (request: SaveTextRequest) => Promise<Result<SaveTextOutcome>>;
}

export async function handleSave(
  opts: SaveIpcOptions,
  event: IpcMainInvokeEvent,
  args: unknown[],
): Promise<Result<SaveTextOutcome>> {
  try {
    if (!opts.isTrustedSender(event))
      return fail('invalid-argument', 'saveText: refused, the call does not come from the KHO Lab window');
    if (args.length !== 1) return fail('invalid-argument', `saveText: expected one argument, got ${args.length}`);
    const r = SaveTextSchema.safeParse(args[0]);
    if (!r.success) {
      const detail = r.error.issues
        .map((i) => `${i.path.length ? i.path.map(String).join('.') : 'argument'}: ${i.message}`)
        .join('; ');
      return fail('invalid-argument', `saveText: ${detail}`);
    }
    return await opts.save(r.data);
  } catch (e) {
    return fail('internal', `saveText: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Registers the save handler; returns a function that removes it. */
export function registerSave(opts: SaveIpcOptions): () => void {
  opts.ipcMain.handle(SAVE_CHANNEL, (event, ...args: unknown[]) => handleSave(opts, event, args));
  return () => opts.ipcMain.removeHandler(SAVE_CHANNEL);
}

export interface NoArgIpcOptions<T> {
  ipcMain: IpcMain;
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
  /** What main does for the window: its own dialog, or its own command line; nothing comes from the window. */
  open: () => Promise<Result<T>>;
}
/** File → Open Memory Dump…: main's open dialog picks the file and the host opens it (menu.ts openDumpDialog). */
export type OpenDumpIpcOptions = NoArgIpcOptions<DumpView | null>;

/** A call that takes no arguments, so no path can come from the window: only from our window, then main acts. */
async function handleNoArgs<T>(
  name: string,
  opts: NoArgIpcOptions<T>,
  event: IpcMainInvokeEvent,
  args: unknown[],
): Promise<Result<T>> {
  try {
    if (!opts.isTrustedSender(event))
      return fail('invalid-argument', `${name}: refused, the call does not come from the KHO Lab window`);
    if (args.length !== 0) return fail('invalid-argument', `${name}: takes no arguments, got ${args.length}`);
    return await opts.open();
  } catch (e) {
    return fail('internal', `${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The renderer's "open a dump": no arguments cross, so no path can come from the window. */
export function handleOpenDump(
  opts: OpenDumpIpcOptions,
  event: IpcMainInvokeEvent,
  args: unknown[],
): Promise<Result<DumpView | null>> {
  return handleNoArgs('openDumpDialog', opts, event, args);
}

/** Registers the open-dump handler; returns a function that removes it. */
export function registerOpenDump(opts: OpenDumpIpcOptions): () => void {
  opts.ipcMain.handle(OPEN_DUMP_CHANNEL, (event, ...args: unknown[]) => handleOpenDump(opts, event, args));
  return () => opts.ipcMain.removeHandler(OPEN_DUMP_CHANNEL);
}

/** Registers the start-up handler (what main's command line opens, electron/launch-args.ts); returns its remover. */
export function registerLaunch(opts: NoArgIpcOptions<LaunchOpened | null>): () => void {
  opts.ipcMain.handle(LAUNCH_CHANNEL, (event, ...args: unknown[]) =>
    handleNoArgs('openFromCommandLine', opts, event, args),
  );
  return () => opts.ipcMain.removeHandler(LAUNCH_CHANNEL);
}
