/**
 * One seed for every property test, so CI runs the same cases each time and a failure reproduces.
 * Explore other cases locally with `FC_SEED=<n> npm test`; fast-check prints the seed and path of
 * any counterexample it finds.
 */
import fc from 'fast-check';

const seed = Number(process.env.FC_SEED ?? 0x6b686f);
fc.configureGlobal({ seed: Number.isSafeInteger(seed) ? seed : 0x6b686f });
