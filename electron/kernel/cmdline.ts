/**
 * DOC: kernel command line
 *
 * Splits "kho=on kho_scratch=200% quiet" into parameters, as the kernel's parse_args() does
 * (double quotes group a value with spaces). Each subsystem takes the parameters it knows; the
 * boot log names the rest as the kernel does.
 */
export type Cmdline = Map<string, string | true>;

export function parseCmdline(text: string): Cmdline {
  const params: Cmdline = new Map();
  const re = /([^\s=]+)(?:=("[^"]*"|\S*))?/g;
  for (const m of text.matchAll(re)) {
    const key = m[1]!;
    const raw = m[2];
    params.set(key, raw === undefined ? true : raw.replace(/^"(.*)"$/, '$1'));
  }
  return params;
}

/**
 * kstrtobool() as an early_param sees it (lib/kstrtox.c: kstrtobool()): y/Y/t/T/1 and on are true,
 * n/N/f/F/0 and off are false, anything else — and a bare parameter, which passes a NULL value —
 * is an error that leaves the setting as it was (null here).
 */
export function kstrtobool(v: string | true | undefined): boolean | null {
  if (typeof v !== 'string' || v.length === 0) return null;
  const c = v[0]!;
  if ('yYtT1'.includes(c)) return true;
  if ('nNfF0'.includes(c)) return false;
  if (c === 'o' || c === 'O') {
    const d = v[1];
    if (d === 'n' || d === 'N') return true;
    if (d === 'f' || d === 'F') return false;
  }
  return null;
}

/** Parameters the simulated kernel understands (early_param / __setup names). */
export const KNOWN_PARAMS = new Set([
  'kho',
  'kho_scratch',
  'liveupdate',
  'luo.disable_handler',
  'luo.memfd_format',
  'luo.memfd_keep_holes',
  'quiet',
  'loglevel',
  'console',
  'root',
  'ro',
  'rw',
  'memblock',
  'numa',
  'elfcorehdr',
]);
