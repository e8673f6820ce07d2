import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Menu, dialog, type MenuItemConstructorOptions } from 'electron';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  exportReport,
  exportVmcore,
  installMenu,
  menuTemplate,
  openDumpDialog,
  openScenario,
  saveScenario,
  showAbout,
  type MenuDeps,
} from '../../../electron/menu';
import { FAKE_SCENARIO, createFakeApi } from './fixtures/fake-api';

vi.mock('electron', () => import('./fixtures/electron-mock'));

const dir = mkdtempSync(path.join(tmpdir(), 'kholab-menu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deps(
  overrides: Partial<MenuDeps> = {},
): MenuDeps & { notify: ReturnType<typeof vi.fn>; api: ReturnType<typeof createFakeApi> } {
  return {
    api: createFakeApi(),
    window: () => null,
    notify: vi.fn(),
    isDev: false,
    platform: 'linux',
    ...overrides,
  } as never;
}
const submenu = (item: MenuItemConstructorOptions) => item.submenu as MenuItemConstructorOptions[];
const labels = (items: MenuItemConstructorOptions[]) =>
  items.filter((i) => i.type !== 'separator').map((i) => i.label ?? i.role);
const item = (template: MenuItemConstructorOptions[], top: string, label: string) =>
  submenu(template.find((t) => t.label === top)!).find((i) => i.label === label)!;
const chooseOpen = (file: string) =>
  vi.mocked(dialog.showOpenDialog).mockResolvedValueOnce({ canceled: false, filePaths: [file] });
const chooseSave = (file: string) =>
  vi.mocked(dialog.showSaveDialog).mockResolvedValueOnce({ canceled: false, filePath: file });
const errorBox = () => vi.mocked(dialog.showErrorBox).mock.calls;

beforeEach(() => vi.clearAllMocks());

describe('menuTemplate', () => {
  it('has File, View and Help with the expected items', () => {
    const t = menuTemplate(deps());
    expect(t.map((m) => m.label)).toEqual(['File', 'View', 'Help']);
    expect(labels(submenu(t[0]!))).toEqual([
      'New Machine…',
      'Open Scenario…',
      'Save Scenario…',
      'Export Report…',
      'Export Memory as vmcore…',
      'Open Memory Dump…',
      'Compare Dump with Simulation…',
      'quit',
    ]);
    expect(labels(submenu(t[1]!))).toEqual([
      'Compare memfd Formats…',
      'Kernel Compatibility Matrix…',
      'zoomIn',
      'zoomOut',
      'resetZoom',
      'togglefullscreen',
    ]);
    expect(labels(submenu(t[2]!))).toEqual(['About KHO Lab']);
  });

  it('offers Reload and DevTools only in development (not when packaged)', () => {
    const dev = labels(submenu(menuTemplate(deps({ isDev: true }))[1]!));
    expect(dev.slice(0, 3)).toEqual(['Compare memfd Formats…', 'Kernel Compatibility Matrix…', 'reload']);
    expect(dev.at(-1)).toBe('toggleDevTools');
    expect(labels(submenu(menuTemplate(deps())[1]!))).not.toContain('reload');
    expect(labels(submenu(menuTemplate(deps())[1]!))).not.toContain('toggleDevTools');
  });

  it('leads with the application menu on macOS', () => {
    expect(menuTemplate(deps({ platform: 'darwin' })).map((m) => m.role ?? m.label)).toEqual([
      'appMenu',
      'File',
      'View',
      'Help',
    ]);
  });

  it('New Machine… asks the renderer to open its dialog', () => {
    const d = deps();
    item(menuTemplate(d), 'File', 'New Machine…').click!(undefined as never, undefined, undefined as never);
    expect(d.notify).toHaveBeenCalledWith('new-machine');
  });

  it('View → Compare memfd Formats… asks the renderer to open the comparison', () => {
    const d = deps();
    item(menuTemplate(d), 'View', 'Compare memfd Formats…').click!(undefined as never, undefined, undefined as never);
    expect(d.notify).toHaveBeenCalledWith('compare-memfd');
  });

  it('View → Kernel Compatibility Matrix… asks the renderer to open the matrix', () => {
    const d = deps();
    item(menuTemplate(d), 'View', 'Kernel Compatibility Matrix…').click!(
      undefined as never,
      undefined,
      undefined as never,
    );
    expect(d.notify).toHaveBeenCalledWith('matrix');
  });

  it('installMenu sets the built template as the application menu', () => {
    installMenu(deps());
    expect(Menu.setApplicationMenu).toHaveBeenCalledWith(vi.mocked(Menu.buildFromTemplate).mock.results[0]!.value);
  });
});

describe('Open Scenario…', () => {
  it('loads the chosen file into the host and tells the renderer to refresh', async () => {
    const file = path.join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ name: 'ok', steps: [{ op: 'boot' }, { op: 'spawn', name: 'vmm' }] }));
    chooseOpen(file);
    const d = deps();
    await openScenario(d);
    expect(d.api.calls).toEqual([['loadScenario', [readFileSync(file, 'utf8'), file]]]);
    expect(d.notify).toHaveBeenCalledWith('state-changed');
    expect(dialog.showErrorBox).not.toHaveBeenCalled();
  });

  it('reports a malformed file with an error box naming it, and does not throw or refresh', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "steps": [ { "op": "boot" }, ');
    chooseOpen(file);
    const d = deps();
    await expect(openScenario(d)).resolves.toBeUndefined();
    expect(errorBox()).toHaveLength(1);
    const [title, content] = errorBox()[0]!;
    expect(title).toBe('Could not open scenario');
    expect(content).toMatch(new RegExp(`^${file}: not valid JSON`));
    expect(d.notify).not.toHaveBeenCalled();
  });

  it('reports a file that cannot be read', async () => {
    const file = path.join(dir, 'missing.json');
    chooseOpen(file);
    const d = deps();
    await openScenario(d);
    expect(errorBox()[0]![1]).toMatch(new RegExp(`^${file}\\n\\n.*ENOENT`));
    expect(d.api.calls).toEqual([]);
  });

  it('works from the menu item too (its click never rejects)', async () => {
    const file = path.join(dir, 'bad-op.json');
    writeFileSync(file, JSON.stringify({ steps: [{ op: 'reboot-now' }] }));
    chooseOpen(file);
    item(menuTemplate(deps()), 'File', 'Open Scenario…').click!(undefined as never, undefined, undefined as never);
    await vi.waitFor(() => expect(errorBox()).toHaveLength(1));
    expect(errorBox()[0]![1]).toMatch(new RegExp(`^${file}: steps\\[0\\].*unknown step op`));
  });

  it('does nothing when the dialog is cancelled', async () => {
    const d = deps();
    await openScenario(d);
    expect(d.api.calls).toEqual([]);
    expect(dialog.showErrorBox).not.toHaveBeenCalled();
  });

  it('shows a failing dialog as an error instead of throwing', async () => {
    vi.mocked(dialog.showOpenDialog).mockRejectedValueOnce(new Error('portal not available'));
    await expect(openScenario(deps())).resolves.toBeUndefined();
    expect(errorBox()).toEqual([['Could not open scenario', 'portal not available']]);
  });
});

describe('Save Scenario… and Export Report…', () => {
  it('writes the host scenario as 2-space JSON, suggesting its name', async () => {
    const file = path.join(dir, 'saved.json');
    chooseSave(file);
    await saveScenario(deps());
    expect(vi.mocked(dialog.showSaveDialog).mock.calls[0]![0]).toMatchObject({ defaultPath: 'fake.json' });
    expect(readFileSync(file, 'utf8')).toBe(JSON.stringify(FAKE_SCENARIO, null, 2) + '\n');
  });

  it('writes the report as JSON', async () => {
    const file = path.join(dir, 'report.json');
    chooseSave(file);
    await exportReport(deps());
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ tool: 'kho-lab', scenario: 'fake', ok: true });
  });

  it('suggests a safe file name whatever the scenario is called', async () => {
    const d = deps();
    const real = await d.api.report();
    d.api.report = async () =>
      real.ok ? { ok: true, value: { ...real.value, scenario: '../../etc/passwd x' } } : real;
    await exportReport(d);
    expect(vi.mocked(dialog.showSaveDialog).mock.calls[0]![0]).toMatchObject({
      defaultPath: 'etc-passwd-x-report.json',
    });
  });

  it('names the file when writing fails', async () => {
    const file = path.join(dir, 'no-such-dir', 'x.json');
    chooseSave(file);
    await expect(saveScenario(deps())).resolves.toBeUndefined();
    expect(errorBox()).toHaveLength(1);
    expect(errorBox()[0]![0]).toBe('Could not save scenario');
    expect(errorBox()[0]![1]).toMatch(new RegExp(`^${file}\\n\\n.*ENOENT`));
  });

  it('shows a host error without opening a save dialog', async () => {
    const d = deps();
    d.api.report = async () => ({ ok: false, error: { code: 'errno', message: 'no machine yet' } });
    await exportReport(d);
    expect(dialog.showSaveDialog).not.toHaveBeenCalled();
    expect(errorBox()).toEqual([['Could not export report', 'no machine yet']]);
  });
});

describe('Export Memory as vmcore…', () => {
  it("asks where, then writes the host's vmcore of the current step (pages in use), suggesting name and step", async () => {
    const file = path.join(dir, 'mem.vmcore');
    chooseSave(file);
    const d = deps();
    item(menuTemplate(d), 'File', 'Export Memory as vmcore…').click!(undefined as never, undefined, undefined as never);
    await vi.waitFor(() => expect(d.api.calls.map(([m]) => m)).toEqual(['scenario', 'vmcore']));
    await vi.waitFor(() => expect(readdirSync(dir)).toContain('mem.vmcore'));
    expect([...readFileSync(file)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 0]);
    expect(d.api.calls[1]).toEqual(['vmcore', [false]]);
    expect(vi.mocked(dialog.showSaveDialog).mock.calls[0]![0]).toMatchObject({
      title: 'Export Memory as vmcore',
      defaultPath: 'fake-step1.vmcore',
    });
    expect(dialog.showErrorBox).not.toHaveBeenCalled();
  });

  it('does not ask the host for a vmcore when the dialog is cancelled', async () => {
    const d = deps();
    await exportVmcore(d);
    expect(d.api.calls.map(([m]) => m)).toEqual(['scenario']);
  });

  it("shows the host's refusal naming the file, and writes nothing", async () => {
    const file = path.join(dir, 'huge.vmcore');
    chooseSave(file);
    const d = deps();
    d.api.vmcore = async () => ({
      ok: false,
      error: { code: 'invalid-argument', message: 'vmcore: the vmcore would be 3 GiB; the limit here is 1 GiB' },
    });
    await exportVmcore(d);
    expect(errorBox()).toEqual([
      ['Could not export vmcore', `${file}\n\nvmcore: the vmcore would be 3 GiB; the limit here is 1 GiB`],
    ]);
    expect(readdirSync(dir).filter((f) => f.startsWith('huge'))).toEqual([]);
  });

  it('names the file when writing fails, and leaves no temporary file', async () => {
    const sub = path.join(dir, 'ro');
    mkdirSync(sub);
    const file = path.join(sub, 'is-a-dir');
    mkdirSync(path.join(file, 'x'), { recursive: true });
    chooseSave(file);
    await expect(exportVmcore(deps())).resolves.toBeUndefined();
    expect(errorBox()).toHaveLength(1);
    expect(errorBox()[0]![1]).toMatch(new RegExp(`^${file}\\n\\n.*(EISDIR|ENOTEMPTY|EEXIST)`));
    expect(readdirSync(sub)).toEqual(['is-a-dir']);
  });
});

describe('About KHO Lab', () => {
  it('shows the app, Electron, Chromium and Node versions', async () => {
    await showAbout(deps());
    const options = vi.mocked(dialog.showMessageBox).mock.calls[0]![0] as unknown as {
      message: string;
      detail: string;
    };
    expect(options.message).toBe('KHO Lab 0.1.0');
    expect(options.detail).toContain(`Node ${process.versions.node}`);
    expect(options.detail).toMatch(/Electron .*\nChromium .*\nNode /);
  });
});

describe('Open Memory Dump…', () => {
  it('the menu item asks the renderer, which opens the dialog through openDumpDialog (it shows the outcome)', () => {
    const d = deps();
    const item = submenu(menuTemplate(d)[0]!).find((i) => i.label === 'Open Memory Dump…')!;
    (item.click as () => void)();
    expect(d.notify).toHaveBeenCalledWith('open-dump');
  });

  it('Compare Dump with Simulation… asks the renderer to show the open dump beside a simulated scenario', () => {
    const d = deps();
    const item = submenu(menuTemplate(d)[0]!).find((i) => i.label === 'Compare Dump with Simulation…')!;
    (item.click as () => void)();
    expect(d.notify).toHaveBeenCalledWith('compare-sim');
  });

  it('openDumpDialog(): the path the dialog returns goes to the host; its refusal comes back as data', async () => {
    chooseOpen('/dumps/guest.elf');
    const d = deps();
    const r = await openDumpDialog(d);
    expect(d.api.calls).toEqual([['openDump', ['/dumps/guest.elf']]]);
    expect(r.ok ? '' : r.error.message).toMatch(/guest\.elf: not an ELF core/);
    expect(dialog.showErrorBox).not.toHaveBeenCalled();
  });

  it('openDumpDialog(): cancelled is ok(null), the host is not asked', async () => {
    vi.mocked(dialog.showOpenDialog).mockResolvedValueOnce({ canceled: true, filePaths: [] });
    const d = deps();
    expect(await openDumpDialog(d)).toEqual({ ok: true, value: null });
    expect(d.api.calls).toEqual([]);
  });
});
