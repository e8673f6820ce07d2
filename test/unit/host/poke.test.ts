/**
 * The poke step (simulator fault injection, electron/host/poke.ts): bytes at a physical address,
 * or a property of a KHO FDT found as the next kernel finds it after kexec -e (boot_params →
 * setup_data SETUP_KEXEC_KHO → kho_data → root FDT → sub-node's `fdt` pointer). Every kind of
 * bad input is refused with a message naming it and leaves the machine exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { type StepFields, applyCommand, stepFields } from '../../../electron/host/apply';
import { entryKhoData } from '../../../electron/host/kho-views';
import { Host } from '../../../electron/host/host';
import { Machine } from '../../../electron/kernel/machine';
import { decodeFdt, findNode, getProp, readString, readU64le } from '../../../electron/kernel/lib/fdt';
import { pokeFdt, pokeHex, pokePhys } from '../../../shared/poke';
import { okOf } from '../kho/helpers';

const CMDLINE = 'kho=on liveupdate=on kho_scratch=64M,32M,16M';

function machine(): { m: Machine; run: (c: CommandInput) => StepFields } {
  const m = new Machine(MachineConfigSchema.parse({ ram: '256M', seed: 1, cmdline: CMDLINE }));
  return { m, run: (c) => stepFields(applyCommand(m, CommandSchema.parse(c))) };
}

/** A machine right after kexec -e: the handover waits in RAM for the next kernel. */
function afterKexec(): { m: Machine; run: (c: CommandInput) => StepFields } {
  const t = machine();
  for (const c of [
    { op: 'boot' },
    { op: 'spawn', name: 'vmm' },
    { op: 'kexec_load' },
    { op: 'reboot' },
  ] as CommandInput[]) {
    const r = t.run(c);
    if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
  }
  return t;
}

/** The pending handover's FDT (the root, or a sub-FDT by its node name), decoded from RAM. */
function pendingFdt(m: Machine, name: string) {
  const kho = entryKhoData(m, m.entry!.bootParams)!;
  const root = decodeFdt(m.ram.read(kho.fdtAddr, kho.fdtSize));
  if (!root.ok) throw new Error(root.message);
  if (name === 'root') return root.root;
  const phys = Number(readU64le(getProp(findNode(root.root, name)!, 'fdt')!)!);
  const sub = decodeFdt(m.ram.read(phys, 4096));
  if (!sub.ok) throw new Error(sub.message);
  return sub.root;
}

/** Runs a poke that must be refused: the outcome, with the machine checked unchanged. */
function refused(t: { m: Machine; run: (c: CommandInput) => StepFields }, c: CommandInput): StepFields {
  const before = { hash: t.m.fingerprint(), seq: t.m.log.lastSeq };
  const r = t.run(c);
  expect(r.ok).toBe(false);
  expect(r.invalid).toBe(true);
  expect(r.errno).toBeUndefined();
  expect({ hash: t.m.fingerprint(), seq: t.m.log.lastSeq }).toEqual(before);
  return r;
}

describe('poke at a physical address', () => {
  it('writes the bytes into RAM and logs old and new bytes as the simulator, not the kernel', () => {
    const t = machine();
    t.run({ op: 'boot' });
    const before = t.m.fingerprint();
    const r = t.run({ op: 'poke', phys: '0x2000ffe', hex: 'de ad be ef' });
    expect(r).toMatchObject({ ok: true, message: 'wrote 4 bytes to 0x2000ffe (2 pages)' });
    expect([...t.m.ram.read(0x2000ffe, 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(t.m.fingerprint()).not.toBe(before);
    const line = t.m.log.events.at(-1)!;
    expect(line).toMatchObject({ level: 'warn', subsys: 'kho-lab' });
    expect(line.msg).toMatch(/^poke 0x2000ffe: .* → de ad be ef \(simulator fault injection\)$/);
  });

  it('writes a string with its NUL, and a u64 little-endian', () => {
    const t = machine();
    expect(t.run({ op: 'poke', phys: '0x100000', string: 'hi' }).ok).toBe(true);
    expect([...t.m.ram.read(0x100000, 3)]).toEqual([0x68, 0x69, 0]);
    expect(t.run({ op: 'poke', phys: '0x100008', u64: '0x0102030405060708' }).ok).toBe(true);
    expect([...t.m.ram.read(0x100008, 8)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('refuses a poke outside RAM: past the end, in the legacy hole, in the BIOS page, or straddling the end', () => {
    const t = machine();
    t.run({ op: 'boot' });
    expect(refused(t, { op: 'poke', phys: '0x10000000', hex: '00' }).message).toMatch(
      /^poke 0x10000000: \[0x10000000, 0x10000001\) is not in RAM: the machine's usable RAM is \[0x1000, 0x9f000\), \[0x100000, 0xffe0000\)$/,
    );
    expect(refused(t, { op: 'poke', phys: '0xa0000', hex: '00' }).message).toMatch(/is not in RAM/);
    // Page 0 is the BIOS's: arch/x86/kernel/setup.c: trim_bios_range() keeps it out of memblock.
    expect(refused(t, { op: 'poke', phys: '0x0', hex: '00' }).message).toMatch(/is not in RAM/);
    expect(refused(t, { op: 'poke', phys: '0xffdffff', hex: '0000' }).message).toMatch(
      /\[0xffdffff, 0xffe0001\) is not in RAM/,
    );
  });

  it('refuses malformed hex: a non-hex digit, half a byte, nothing', () => {
    const t = machine();
    expect(refused(t, { op: 'poke', phys: '0x100000', hex: '12zz' }).message).toBe(
      'poke 0x100000: malformed hex "12zz": "z" is not a hex digit',
    );
    expect(refused(t, { op: 'poke', phys: '0x100000', hex: 'abc' }).message).toMatch(
      /malformed hex "abc": 3 digits is not a whole number of bytes/,
    );
    expect(refused(t, { op: 'poke', phys: '0x100000', hex: ' ' }).message).toMatch(/malformed hex: no bytes given/);
  });

  it('refuses a poke with no value, two values, both phys and fdt, or a property without fdt', () => {
    const t = machine();
    expect(refused(t, { op: 'poke', phys: '0x100000' }).message).toMatch(
      /exactly one value \(hex, string or u64\); got none/,
    );
    expect(refused(t, { op: 'poke', phys: '0x100000', hex: '00', u64: 1 }).message).toMatch(/got hex and u64/);
    expect(refused(t, { op: 'poke', phys: '0x100000', fdt: 'LUO', property: 'compatible', hex: '00' }).message).toMatch(
      /exactly one of phys .* or fdt/,
    );
    expect(refused(t, { op: 'poke', phys: '0x100000', property: 'compatible', hex: '00' }).message).toMatch(
      /property goes with fdt/,
    );
    expect(refused(t, { op: 'poke', hex: '00' }).message).toMatch(/exactly one of phys/);
  });
});

describe('poke into a KHO FDT as the next kernel finds it (kho_populate → kho_retrieve_subtree)', () => {
  it('writes a sub-FDT property in place: the LUO compatible the next kernel checks', () => {
    const t = afterKexec();
    const r = t.run({ op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' });
    expect(r.ok).toBe(true);
    expect(r.message).toMatch(/^wrote 7 bytes to LUO\/compatible at 0x[0-9a-f]+ \(1 page\)$/);
    expect(readString(getProp(pendingFdt(t.m, 'LUO'), 'compatible')!)).toBe('luo-v0');
    // The rest of the blob is as it was: it still decodes, with the same tree shape.
    expect(pendingFdt(t.m, 'LUO').children.map((c) => c.name)).toEqual(['luo-session']);
  });

  it('luo_early_startup(): the poked compatible makes the next kernel panic in luo_restore_fail(); the boot step fails', () => {
    const t = afterKexec();
    expect(t.run({ op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' }).ok).toBe(true);
    const boot = t.run({ op: 'boot' });
    expect(boot).toMatchObject({
      ok: false,
      panicked: 'The incoming tree failed to initialize properly [-22], disabling live update',
    });
    const errs = t.m.log.events.filter((e) => e.level === 'err').map((e) => e.msg);
    expect(errs).toContain("FDT 'LUO' is incompatible with 'luo-v1' [1]");
    expect(errs.at(-1)).toBe(
      'Kernel panic - not syncing: The incoming tree failed to initialize properly [-22], disabling live update',
    );
    expect(t.m.kernel!.panicked).not.toBeNull(); // the machine keeps the panicked kernel
    expect(t.run({ op: 'spawn', name: 'x' }).message).toMatch(/^spawn: refused: the kernel panicked: /);
  });

  it('follows a property path into a nested node and writes a u64, and reaches the root FDT', () => {
    const t = afterKexec();
    expect(t.run({ op: 'poke', fdt: 'LUO', property: 'luo-session/luo-session-header', u64: '0xdead000' }).ok).toBe(
      true,
    );
    const session = findNode(pendingFdt(t.m, 'LUO'), 'luo-session')!;
    expect(readU64le(getProp(session, 'luo-session-header')!)).toBe(0xdead000n);
    expect(t.run({ op: 'poke', fdt: 'root', property: 'compatible', string: 'kho-v0' }).ok).toBe(true);
    expect(readString(getProp(pendingFdt(t.m, 'root'), 'compatible')!)).toBe('kho-v0');
  });

  it('refuses a missing sub-FDT, node or property, naming what exists', () => {
    const t = afterKexec();
    expect(refused(t, { op: 'poke', fdt: 'LUX', property: 'compatible', string: 'x' }).message).toBe(
      'poke LUX/compatible: the KHO root FDT has no sub-node "LUX"; it has "LUO" (or use "root")',
    );
    expect(refused(t, { op: 'poke', fdt: 'LUO', property: 'compatibel', string: 'x' }).message).toBe(
      'poke LUO/compatibel: node "/" of FDT "LUO" has no property "compatibel"; it has "compatible", "liveupdate-number"',
    );
    expect(refused(t, { op: 'poke', fdt: 'LUO', property: 'no-such-node/compatible', string: 'x' }).message).toBe(
      'poke LUO/no-such-node/compatible: FDT "LUO" has no node "no-such-node"',
    );
    expect(refused(t, { op: 'poke', fdt: 'LUO', string: 'x' }).message).toMatch(/fdt "LUO" needs a property/);
  });

  it('refuses a value of the wrong length: a poke cannot resize a property', () => {
    const t = afterKexec();
    expect(refused(t, { op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v10' }).message).toBe(
      'poke LUO/compatible: LUO/compatible is 7 bytes; the value is 8 bytes — a poke writes in place and cannot resize a property (a string is written with its NUL)',
    );
    expect(refused(t, { op: 'poke', fdt: 'LUO', property: 'liveupdate-number', hex: '01' }).message).toMatch(
      /is 8 bytes; the value is 1 bytes/,
    );
  });

  it('while a kernel runs, writes the outgoing FDT it will hand on, and the poke survives kexec -e', () => {
    const t = machine();
    expect(refused(t, { op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' }).message).toMatch(
      /no kernel runs and no kexec is pending/,
    );
    for (const c of [{ op: 'boot' }, { op: 'spawn', name: 'vmm' }, { op: 'kexec_load' }] as CommandInput[])
      expect(t.run(c).ok).toBe(true);
    expect(t.run({ op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' }).ok).toBe(true);
    // liveupdate_reboot() → luo_session_serialize() + kho_finalize() rewrite what they own, not the compatible.
    expect(t.run({ op: 'reboot' }).ok).toBe(true);
    expect(readString(getProp(pendingFdt(t.m, 'LUO'), 'compatible')!)).toBe('luo-v0');
  });

  it('refuses when no KHO FDT is handed over (KHO off), running or after kexec -e', () => {
    const m = new Machine(MachineConfigSchema.parse({ ram: '256M', seed: 1, cmdline: '' }));
    const run = (c: CommandInput) => stepFields(applyCommand(m, CommandSchema.parse(c)));
    expect(run({ op: 'boot' }).ok).toBe(true);
    expect(refused({ m, run }, { op: 'poke', fdt: 'root', property: 'compatible', string: 'x' }).message).toMatch(
      /the running kernel hands over no KHO FDT/,
    );
    for (const c of [{ op: 'kexec_load' }, { op: 'reboot' }] as CommandInput[]) expect(run(c).ok).toBe(true);
    expect(refused({ m, run }, { op: 'poke', fdt: 'root', property: 'compatible', string: 'x' }).message).toMatch(
      /hands over no KHO data/,
    );
  });

  it('refuses a root FDT that no longer decodes, naming the libfdt error', () => {
    const t = afterKexec();
    const kho = entryKhoData(t.m, t.m.entry!.bootParams)!;
    expect(t.run({ op: 'poke', phys: `0x${kho.fdtAddr.toString(16)}`, hex: '00000000' }).ok).toBe(true); // the magic
    expect(refused(t, { op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' }).message).toMatch(
      /the KHO root FDT at 0x[0-9a-f]+ does not decode: .*\[FDT_ERR_BADMAGIC\]/,
    );
  });
});

describe('Host: a poke is a step', () => {
  it('a good poke goes on the timeline and replays; a bad one is refused without touching the timeline', async () => {
    const host = new Host();
    okOf(await host.newMachine({ ram: '256M', seed: 1, cmdline: CMDLINE }));
    okOf(await host.run({ op: 'boot' }));
    const good = okOf(await host.run({ op: 'poke', phys: '0x100000', hex: 'ff' }));
    expect(good.step).toMatchObject({ index: 2, label: 'poke 0x100000 = ff', ok: true });
    const hash = okOf(await host.report()).ramHash;
    okOf(await host.goto(1));
    okOf(await host.goto(2));
    expect(okOf(await host.report()).ramHash).toBe(hash);

    okOf(await host.goto(1)); // step 2 is now redo history, which a refused poke must not drop
    const bad = await host.run({ op: 'poke', phys: '0x100000', hex: 'f' });
    expect(bad).toEqual({
      ok: false,
      error: {
        code: 'invalid-argument',
        message: 'poke 0x100000: malformed hex "f": 1 digits is not a whole number of bytes',
      },
    });
    const state = okOf(await host.state());
    expect(state.steps.length).toBe(2);
    expect(state.cursor).toBe(1);
  });

  it('a scenario with a bad poke records it as an invalid step', async () => {
    const host = new Host();
    const text = JSON.stringify({
      name: 'bad-poke',
      machine: { ram: '256M' },
      steps: [{ op: 'boot' }, { op: 'poke', phys: '0x40000000', hex: '00' }],
    });
    const state = okOf(await host.loadScenario(text, 'bad-poke.json'));
    expect(state.steps[1]).toMatchObject({
      ok: false,
      invalid: true,
      message: expect.stringMatching(/^poke 0x40000000: .* is not in RAM/),
    });
  });
});

describe('shared/poke: the requests the UI builds', () => {
  it('pokePhys and pokeFdt build steps the host applies', () => {
    expect(pokeHex(Uint8Array.of(0, 0xab, 0x0f))).toBe('00ab0f');
    expect(pokePhys(0x100010, Uint8Array.of(1, 2))).toEqual({ op: 'poke', phys: '0x100010', hex: '0102' });
    expect(pokeFdt('LUO', 'compatible', { string: 'luo-v0' })).toEqual({
      op: 'poke',
      fdt: 'LUO',
      property: 'compatible',
      string: 'luo-v0',
    });
    const t = afterKexec();
    expect(t.run(pokePhys(0x100010, Uint8Array.of(1, 2))).ok).toBe(true);
    expect(t.run(pokeFdt('LUO', 'liveupdate-number', { u64: 7 })).ok).toBe(true);
    expect(readU64le(getProp(pendingFdt(t.m, 'LUO'), 'liveupdate-number')!)).toBe(7n);
  });
});
