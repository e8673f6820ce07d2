/**
 * DOC: a menu button's keyboard and pointer handling
 *
 * The header's drop-down menus (AppMenu, ScenarioMenu) behave as WAI-ARIA's menu button pattern
 * has it: Enter, Space or ↓ open the menu on its first item, ↑ on its last; inside it ↑/↓ move
 * between the enabled items and wrap, Home/End jump (lib/menu-nav.ts); Escape closes it and gives
 * focus back to the button, Tab closes it and lets focus go on; a click outside closes it. A
 * component binds `root`, `trigger` and `list` to its elements and wires the handlers below.
 */
import { tick } from 'svelte';
import { menuMove } from './menu-nav';

export class MenuButton {
  open = $state(false);
  /** The element that holds the button and the menu (a click outside it closes the menu). */
  root: HTMLElement | undefined = $state();
  trigger: HTMLButtonElement | undefined = $state();
  list: HTMLElement | undefined = $state();

  /** `onopen` runs each time the menu opens (to fetch what it lists). */
  constructor(private readonly onopen?: () => void) {}

  private items(): HTMLButtonElement[] {
    return this.list ? [...this.list.querySelectorAll<HTMLButtonElement>('button[role="menuitem"]')] : [];
  }

  async show(focus: 'first' | 'last' | null): Promise<void> {
    if (!this.open) this.onopen?.();
    this.open = true;
    if (!focus) return;
    await tick();
    const els = this.items();
    const i = menuMove(
      els.map((b) => !b.disabled),
      -1,
      focus === 'first' ? 'Home' : 'End',
    );
    if (i !== null) els[i]?.focus();
  }

  close(refocus: boolean): void {
    this.open = false;
    if (refocus) this.trigger?.focus();
  }

  /** The button's click; one from the keyboard (Enter, Space: detail 0) opens on the first item, as ↓ does. */
  ontriggerclick = (e: MouseEvent): void => {
    if (this.open) this.close(false);
    else void this.show(e.detail === 0 ? 'first' : null);
  };

  ontriggerkey = (e: KeyboardEvent): void => {
    const to = e.key === 'ArrowDown' ? 'first' : e.key === 'ArrowUp' ? 'last' : null;
    if (to) void this.show(to);
    else if (e.key === 'Escape' && this.open) this.close(true);
    else return;
    e.preventDefault();
    e.stopPropagation();
  };

  onlistkey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.close(true);
      return;
    }
    if (e.key === 'Tab') {
      this.close(false);
      return;
    }
    const els = this.items();
    const next = menuMove(
      els.map((b) => !b.disabled),
      els.indexOf(document.activeElement as HTMLButtonElement),
      e.key,
    );
    // Arrows and Home/End are app shortcuts too (step back/forward, run all): inside the menu they only move.
    if (next !== null) {
      e.preventDefault();
      e.stopPropagation();
      els[next]?.focus();
    }
  };

  onwindowclick = (e: MouseEvent): void => {
    if (this.open && this.root && !this.root.contains(e.target as Node)) this.close(false);
  };
}
