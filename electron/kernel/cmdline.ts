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

/** Parameters the simulated kernel understands (early_param / __setup names). */
export const KNOWN_PARAMS = new Set(['kho', 'kho_scratch', 'liveupdate', 'luo.disable_handler', 'luo.memfd_format', 'luo.memfd_keep_holes', 'quiet', 'loglevel', 'console', 'root', 'ro', 'rw', 'memblock', 'numa']);
