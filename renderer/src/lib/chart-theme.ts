/**
 * DOC: uPlot in the app's dark theme
 *
 * The axis colours and fonts every chart uses, a log₂ byte axis (8 B, 16 B … 4 KiB read as powers
 * of two, the way page and record sizes are), and canvas text for draw hooks at the device pixel
 * ratio. Type-only uPlot imports: the charts' components load uPlot itself.
 */
import type uPlot from 'uplot';
import { bytesTick, log2Splits } from './compare-data';

export const AXIS_STROKE = '#8b95a8';
export const GRID_STROKE = '#262c38';
const FONT_FAMILY = "'DejaVu Sans', system-ui, sans-serif";
export const axisFont = (px = 11) => `${px}px ${FONT_FAMILY}`;

/** A y axis of bytes on a log₂ scale (the scale needs distr 3, log 2). */
export function logBytesAxis(label: string): uPlot.Axis {
  return {
    stroke: AXIS_STROKE,
    font: axisFont(),
    label,
    labelFont: axisFont(11),
    labelSize: 18,
    size: 58,
    grid: { stroke: GRID_STROKE, width: 1 },
    ticks: { stroke: GRID_STROKE, width: 1, size: 4 },
    // Powers of two, thinned so labels stay about 20 px apart.
    splits: (u, _axis, min, max) =>
      log2Splits(min, max, Math.floor(u.bbox.height / (globalThis.devicePixelRatio || 1) / 20)),
    // uPlot's own log₂ filter would blank some of them again (as null).
    filter: (_u, splits) => splits,
    values: (_u, splits) => splits.map((v) => (v == null ? '' : bytesTick(v))),
  };
}

/** Writes text on a chart's canvas at CSS-pixel font size `px` (x, y in canvas pixels). */
export function canvasText(
  u: uPlot,
  text: string,
  x: number,
  y: number,
  opts: {
    color: string;
    px?: number;
    bold?: boolean;
    align?: CanvasTextAlign;
    baseline?: CanvasTextBaseline;
    ratio: number;
  },
): void {
  const ctx = u.ctx;
  ctx.save();
  ctx.font = `${opts.bold ? 'bold ' : ''}${Math.round((opts.px ?? 11) * opts.ratio)}px ${FONT_FAMILY}`;
  ctx.fillStyle = opts.color;
  ctx.textAlign = opts.align ?? 'center';
  ctx.textBaseline = opts.baseline ?? 'alphabetic';
  ctx.fillText(text, x, y);
  ctx.restore();
}
