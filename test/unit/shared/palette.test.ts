/** The map palette: every category is told apart from every other at a glance. */
import { describe, expect, it } from 'vitest';
import { CATEGORY_STYLES, PAGE_CATEGORY_COUNT, paletteRgba } from '../../../shared/palette';

/** CIE L*a*b* (D65) of a #rrggbb colour. */
function cieLab(color: string): [number, number, number] {
  const v = parseInt(color.slice(1), 16);
  const [r, g, b] = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff].map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
  const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
  const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

describe('map palette', () => {
  it('has one style per category, in id order', () => {
    expect(CATEGORY_STYLES.map((s) => s.id)).toEqual([...Array(PAGE_CATEGORY_COUNT).keys()]);
    expect(paletteRgba()).toHaveLength(PAGE_CATEGORY_COUNT);
  });

  it('keeps every pair of categories at least ΔE 24 apart (no near-identical ochres or purples)', () => {
    let worst = { d: Infinity, pair: '' };
    for (let i = 0; i < CATEGORY_STYLES.length; i++)
      for (let j = i + 1; j < CATEGORY_STYLES.length; j++) {
        const a = cieLab(CATEGORY_STYLES[i]!.color);
        const b = cieLab(CATEGORY_STYLES[j]!.color);
        const d = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
        if (d < worst.d) worst = { d, pair: `${CATEGORY_STYLES[i]!.key}/${CATEGORY_STYLES[j]!.key}` };
      }
    expect(worst.d, worst.pair).toBeGreaterThanOrEqual(24);
  });
});
