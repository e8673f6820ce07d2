/**
 * DOC: saving an export in the browser preview
 *
 * The preview has no main process to ask for a save dialog, so an export becomes an ordinary
 * download of a Blob (a blob: URL, which the CSP allows and which never leaves the page). Electron
 * goes through the bridge's saveText instead, where main chooses the path with a native dialog.
 */
import { ok, type Result } from '../../../shared/api';
import type { SaveTextOutcome, SaveTextRequest } from '../../../shared/bridge';

const MIME: Record<SaveTextRequest['kind'], string> = { csv: 'text/csv', json: 'application/json' };

/** The name the file is offered under: no directory, and the kind's extension. */
export function downloadName(request: Pick<SaveTextRequest, 'kind' | 'name'>): string {
  const base =
    request.name
      .split(/[\\/]/)
      .pop()!
      .replace(/[^\w.-]+/g, '-')
      .replace(/^[.-]+/, '') || 'kho-lab';
  const ext = `.${request.kind}`;
  return base.toLowerCase().endsWith(ext) ? base : base + ext;
}

export async function downloadText(request: SaveTextRequest): Promise<Result<SaveTextOutcome>> {
  const name = downloadName(request);
  download(name, new Blob([request.text], { type: `${MIME[request.kind]};charset=utf-8` }));
  return ok({ saved: true, name });
}

/** Offers binary data (a vmcore, a .dtb) as a download named `name` (kept to a plain file name). */
export function downloadBytes(name: string, bytes: Uint8Array): string {
  const plain =
    name
      .split(/[\\/]/)
      .pop()!
      .replace(/[^\w.-]+/g, '-')
      .replace(/^[.-]+/, '') || 'kho-lab.bin';
  download(plain, new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  return plain;
}

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.style.display = 'none';
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    // The click starts the download synchronously; the URL is only needed until then.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
