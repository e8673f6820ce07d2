/**
 * DOC: the IPC transport
 *
 * One channel carries every SimApi call from the renderer. Each call is checked twice here — who
 * sent it, and whether the method and arguments fit the shared schemas — and every outcome,
 * refusals included, goes back as a Result: the renderer never sees an exception from main.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { fail, validateCall, type Result, type SimApi } from '../shared/api';
import { dispatch } from '../shared/rpc';
import { CALL_CHANNEL } from '../shared/bridge';

export interface IpcOptions {
  ipcMain: IpcMain;
  api: SimApi;
  /** Whether a call comes from our window's own frame (window.ts isOwnFrame). */
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
}

export async function handleCall(opts: IpcOptions, event: IpcMainInvokeEvent, method: unknown, args: unknown): Promise<Result<unknown>> {
  try {
    if (!opts.isTrustedSender(event)) {
      return fail('invalid-argument', `${String(method)}: refused, the call does not come from the KHO Lab window`);
    }
    const v = validateCall(method, args);
    if (!v.ok) return fail('invalid-argument', v.message);
    // The original arguments go on: the host worker parses them again with the same schemas.
    return await dispatch(opts.api, v.call.method, args as unknown[]);
  } catch (e) {
    return fail('internal', `${String(method)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Registers the handler; returns a function that removes it. */
export function registerIpc(opts: IpcOptions): () => void {
  opts.ipcMain.handle(CALL_CHANNEL, (event, method: unknown, args: unknown) => handleCall(opts, event, method, args));
  return () => opts.ipcMain.removeHandler(CALL_CHANNEL);
}
