/**
 * DOC: keyboard shortcuts
 *
 * One table of the app's shortcuts: the help overlay lists it and the key handler matches
 * against it. Shortcuts never fire while the user types in a field.
 */

export type ShortcutAction =
  | 'new-machine'
  | 'boot'
  | 'memfd'
  | 'alloc'
  | 'vmalloc'
  | 'step-back'
  | 'step-forward'
  | 'run-remaining'
  | 'zoom-in'
  | 'zoom-out'
  | 'zoom-fit'
  | 'log-filter'
  | 'compare'
  | 'matrix'
  | 'generation-diff'
  | 'help'
  | 'close';

export interface Shortcut {
  keys: string[];
  /** How the help overlay prints the keys. */
  label: string;
  action: ShortcutAction;
  description: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: ['n', 'N'], label: 'N', action: 'new-machine', description: 'New machine…' },
  { keys: ['b', 'B'], label: 'B', action: 'boot', description: 'Boot the machine' },
  { keys: ['m', 'M'], label: 'M', action: 'memfd', description: 'Create and fill a memfd' },
  { keys: ['a', 'A'], label: 'A', action: 'alloc', description: 'alloc_pages with the panel’s settings' },
  { keys: ['v', 'V'], label: 'V', action: 'vmalloc', description: 'vmalloc with the panel’s settings' },
  { keys: ['ArrowLeft'], label: '←', action: 'step-back', description: 'Step back' },
  { keys: ['ArrowRight'], label: '→', action: 'step-forward', description: 'Step forward' },
  { keys: ['End'], label: 'End', action: 'run-remaining', description: 'Run the remaining steps' },
  { keys: ['+', '='], label: '+', action: 'zoom-in', description: 'Zoom the map in' },
  { keys: ['-', '_'], label: '−', action: 'zoom-out', description: 'Zoom the map out' },
  { keys: ['0'], label: '0', action: 'zoom-fit', description: 'Fit the whole machine' },
  { keys: ['/'], label: '/', action: 'log-filter', description: 'Filter the event log' },
  { keys: ['c', 'C'], label: 'C', action: 'compare', description: 'Compare the memfd formats…' },
  { keys: ['k', 'K'], label: 'K', action: 'matrix', description: 'Kernel compatibility matrix…' },
  {
    keys: ['g', 'G'],
    label: 'G',
    action: 'generation-diff',
    description: 'Kernel N beside kernel N+1: each handed-over block restored, leaked or overwritten',
  },
  { keys: ['?'], label: '?', action: 'help', description: 'Show these shortcuts' },
  { keys: ['Escape'], label: 'Esc', action: 'close', description: 'Close a dialog or overlay' },
];

/** True when keys should go to the element, not to shortcuts (text fields, selects, editables). */
function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const el = target as HTMLElement;
  if (el.isContentEditable) return true;
  const field = el.closest('input, textarea, select');
  if (!field) return false;
  if (field instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset', 'color'].includes(field.type);
  }
  return true;
}

/** The action for a keydown, or null (modifier chords and typing are left alone). */
export function matchShortcut(
  e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>,
): ShortcutAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (e.key !== 'Escape' && isTypingTarget(e.target)) return null;
  return SHORTCUTS.find((s) => s.keys.includes(e.key))?.action ?? null;
}
