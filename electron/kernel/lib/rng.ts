/**
 * DOC: the machine's random generator
 *
 * One seeded xoroshiro128+ (pure-rand) per machine. Its state is part of a machine snapshot, so
 * replaying the same steps from the same state gives the same bytes in RAM.
 */
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

export class Rng {
  private gen: JumpableRandomGenerator;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  static fromState(state: readonly number[]): Rng {
    const r = new Rng(0);
    r.gen = xoroshiro128plusFromState(state);
    return r;
  }

  state(): readonly number[] {
    return this.gen.getState();
  }

  /** Uniform unsigned 32-bit integer. */
  u32(): number {
    return this.gen.next() >>> 0;
  }

  /** Uniform integer in [lo, hi], both inclusive (hi - lo < 2^32). */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    // Rejection sampling keeps the distribution exact.
    const limit = Math.floor(0x1_0000_0000 / span) * span;
    let v: number;
    do v = this.u32();
    while (v >= limit);
    return lo + (v % span);
  }
}
