/**
 * DOC: repeat steps
 *
 * The 7.x LUO selftests open thousands of fds in loops (2000 sessions, 500 memfds). A scenario
 * says that with one step instead of thousands:
 *
 *   {"op": "repeat", "count": 500, "var": "i", "steps": [
 *     {"op": "memfd_create", "process": "t", "name": "file-{i}"},
 *     {"op": "luo_preserve_fd", "process": "t", "session_fd": 4, "fd": "{i+5}", "token": "{i}"}]}
 *
 * The body is a template. Each pass binds `var` (default `i`) to from, from+1, … and replaces
 * every `{expression}` in a string value; a value that is nothing but one `{expression}` becomes
 * a number. An expression is a sum of integers, variables and integer·variable products
 * (`{2*i+1}`, `{i-1}`); braces holding anything else stay text. Repeats nest (give the inner one
 * its own `var`; inner bodies see the outer variables). After substitution every step is
 * validated like any other, and a failure names its path and the pass: `steps[3].steps[1].fd:
 * … (i=17)`. A scenario is expanded when it is parsed, so the timeline has one entry per pass.
 */
import { z } from 'zod';

/** What a repeat step looks like before expansion (the body stays loosely typed until substituted). */
export const RepeatSchema = z
  .object({
    op: z.literal('repeat'),
    /** Passes; 0 runs the body never. */
    count: z.number().int().min(0).max(100000),
    /** The loop variable: a lower-case identifier. */
    var: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'a loop variable is a lower-case identifier such as "i"')
      .default('i'),
    /** The variable's value in the first pass. */
    from: z.number().int().min(-1e9).max(1e9).default(0),
    steps: z
      .array(z.looseObject({ op: z.string().min(1) }))
      .min(1)
      .max(1000),
  })
  .strict();
export type RepeatStep = z.output<typeof RepeatSchema>;

type Env = Readonly<Record<string, number>>;

const TERM = /^\s*(?:(\d+)\s*\*\s*)?([a-z][a-z0-9_]*|\d+)(?:\s*\*\s*(\d+))?\s*$/;

/** The value of a linear expression such as `2*i+1` under `env`, or null when it is not one. */
export function evalExpression(text: string, env: Env): number | null {
  const parts = text.split(/(?=[+-])/);
  let sum = 0;
  for (const raw of parts) {
    const sign = raw.trimStart().startsWith('-') ? -1 : 1;
    const m = TERM.exec(raw.trim().replace(/^[+-]/, ''));
    if (!m) return null;
    const [, pre, atom, post] = m;
    const v = /^\d+$/.test(atom!) ? Number(atom) : env[atom!];
    if (v === undefined) return null;
    sum += sign * v * Number(pre ?? 1) * Number(post ?? 1);
  }
  return Number.isSafeInteger(sum) ? sum : null;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const WHOLE = /^\{([^{}]*)\}$/;

/** One value of a template with `env` substituted (keys are never substituted). */
export function substitute(value: unknown, env: Env): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const n = evalExpression(whole[1]!, env);
      if (n !== null) return n;
    }
    return value.replace(PLACEHOLDER, (all, expr: string) => {
      const n = evalExpression(expr, env);
      return n === null ? all : String(n);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, env));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env)]));
  return value;
}

/** Where expansion stopped: the path below the scenario root, a message, and the pass it was in. */
export interface ExpandIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * Expands `steps` (already validated plain steps and repeats) into plain steps: `parseStep`
 * validates one substituted body step (a plain step, or a nested repeat recognised by
 * `isRepeat`). Returns the steps, or the first issue. `limit` caps the total so a typo (count 1e5
 * nested in 1e5) fails fast.
 */
export function expandSteps<T>(
  steps: readonly (T | RepeatStep)[],
  parseStep: (raw: unknown) => { ok: true; step: T | RepeatStep } | { ok: false; issues: ExpandIssue[] },
  isRepeat: (s: T | RepeatStep) => s is RepeatStep,
  limit: number,
): { ok: true; steps: T[] } | { ok: false; issue: ExpandIssue } {
  const out: T[] = [];
  const walk = (list: readonly unknown[], env: Env | null, base: PropertyKey[], pass: string): ExpandIssue | null => {
    for (const [j, raw] of list.entries()) {
      let step = raw as T | RepeatStep;
      if (env) {
        const r = parseStep(substitute(raw, env));
        if (!r.ok) {
          const first = r.issues[0]!;
          return { path: [...base, j, ...first.path], message: first.message + pass };
        }
        step = r.step;
      }
      if (!isRepeat(step)) {
        if (out.length >= limit)
          return { path: [...base, j], message: `the scenario expands to more than ${limit} steps${pass}` };
        out.push(step);
        continue;
      }
      if (env && step.var in env)
        return { path: [...base, j, 'var'], message: `loop variable "${step.var}" is already used by an outer repeat` };
      for (let n = 0; n < step.count; n++) {
        const value = step.from + n;
        const e = walk(
          step.steps,
          { ...env, [step.var]: value },
          [...base, j, 'steps'],
          `${pass} (${step.var}=${value})`,
        );
        if (e) return e;
      }
    }
    return null;
  };
  const issue = walk(steps, null, [], '');
  return issue ? { ok: false, issue } : { ok: true, steps: out };
}
