/**
 * DOC: event log filter
 *
 * The log's filter box: words must all appear in the line (case-insensitive); `level:warn` keeps
 * warnings and errors, `level:err` errors only (dmesg --level style, most severe first).
 */
import type { TraceEvent } from '../../../shared/views';
import { dmesgLine } from './format';

const SEVERITY: Record<TraceEvent['level'], number> = { err: 3, warn: 2, info: 1, debug: 0 };

export function filterEvents(events: readonly TraceEvent[], query: string): readonly TraceEvent[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return events;
  let minLevel = -1;
  const terms: string[] = [];
  for (const w of words) {
    const m = /^level:(err|warn|info|debug)$/.exec(w);
    if (m) minLevel = SEVERITY[m[1] as TraceEvent['level']];
    else terms.push(w);
  }
  return events.filter((e) => {
    if (SEVERITY[e.level] < minLevel) return false;
    if (terms.length === 0) return true;
    const line = dmesgLine(e).toLowerCase();
    return terms.every((t) => line.includes(t));
  });
}
