/**
 * DOC: menu keyboard navigation
 *
 * Where focus goes in a drop-down menu for a key, as WAI-ARIA's menu button pattern has it: arrows
 * move between the enabled items and wrap, Home and End jump to the first and last. Disabled items
 * are skipped (they still show, with the reason on hover). Pure, so tests can call it directly.
 */

/** The index of the item `key` moves to from `current` (-1: none focused), or null if the key is not a move. */
export function menuMove(enabled: readonly boolean[], current: number, key: string): number | null {
  const n = enabled.length;
  const first = enabled.indexOf(true);
  if (first < 0) return null;
  const step = (from: number, dir: 1 | -1): number => {
    for (let k = 1; k <= n; k++) {
      const i = (((from + dir * k) % n) + n) % n;
      if (enabled[i]) return i;
    }
    return first;
  };
  switch (key) {
    case 'ArrowDown':
      return current < 0 ? first : step(current, 1);
    case 'ArrowUp':
      return current < 0 ? enabled.lastIndexOf(true) : step(current, -1);
    case 'Home':
      return first;
    case 'End':
      return enabled.lastIndexOf(true);
    default:
      return null;
  }
}
