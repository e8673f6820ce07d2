/**
 * The scenario language's repeat step (shared/scenario-repeat.ts): expressions, substitution,
 * nesting, and errors that name the path and the pass.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../shared/scenario';
import { evalExpression, substitute } from '../../../shared/scenario-repeat';

const parse = (steps: unknown[]) => parseScenario(JSON.stringify({ steps }), 'x.json');
const stepsOf = (steps: unknown[]) => {
  const r = parse(steps);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.steps;
};
const errorOf = (steps: unknown[]) => {
  const r = parse(steps);
  if (r.ok) throw new Error('parsed');
  return r.error.message;
};

describe('evalExpression / substitute', () => {
  it('linear expressions over the bound variables; anything else is not one', () => {
    expect(evalExpression('i', { i: 7 })).toBe(7);
    expect(evalExpression(' 2*i + 1 ', { i: 7 })).toBe(15);
    expect(evalExpression('i*3-4', { i: 2 })).toBe(2);
    expect(evalExpression('i+j+10', { i: 1, j: 2 })).toBe(13);
    expect(evalExpression('k', { i: 1 })).toBeNull();
    expect(evalExpression('i/2', { i: 4 })).toBeNull();
    expect(evalExpression('', { i: 4 })).toBeNull();
  });

  it('a value that is one placeholder becomes a number; placeholders inside text become digits; other braces stay', () => {
    expect(substitute({ fd: '{i+4}', name: 'many-session-{i}', text: '{hello} {i}' }, { i: 3 })).toEqual({
      fd: 7,
      name: 'many-session-3',
      text: '{hello} 3',
    });
    expect(substitute({ data: { text: 'file-data-{i}' }, list: ['{i}'] }, { i: 0 })).toEqual({
      data: { text: 'file-data-0' },
      list: [0],
    });
  });
});

describe('repeat steps', () => {
  it('expand in order, one step per pass, from `from`', () => {
    const steps = stepsOf([
      { op: 'boot' },
      {
        op: 'repeat',
        count: 3,
        from: 1,
        steps: [
          { op: 'memfd_create', process: 'p', name: 'f{i}' },
          { op: 'luo_preserve_fd', process: 'p', session_fd: 4, fd: '{i+4}', token: '{i}' },
        ],
      },
    ]);
    expect(steps).toHaveLength(7);
    expect(steps.slice(1, 3)).toEqual([
      { op: 'memfd_create', process: 'p', name: 'f1' },
      { op: 'luo_preserve_fd', process: 'p', session_fd: 4, fd: 5, token: 1 },
    ]);
    expect(steps[6]).toEqual({ op: 'luo_preserve_fd', process: 'p', session_fd: 4, fd: 7, token: 3 });
  });

  it('nest with their own variable; inner bodies see the outer one; count 0 runs nothing', () => {
    const steps = stepsOf([
      {
        op: 'repeat',
        count: 2,
        steps: [{ op: 'repeat', count: 2, var: 'j', steps: [{ op: 'close', process: 'p{i}', fd: '{10*i+j}' }] }],
      },
      { op: 'repeat', count: 0, steps: [{ op: 'boot' }] },
    ]);
    expect(steps.map((s) => (s.op === 'close' ? `${s.process}:${s.fd}` : s.op))).toEqual([
      'p0:0',
      'p0:1',
      'p1:10',
      'p1:11',
    ]);
  });

  it('a step that is wrong after substitution names its path and the pass', () => {
    expect(
      errorOf([{ op: 'boot' }, { op: 'repeat', count: 5, steps: [{ op: 'close', process: 'p', fd: '{i-3}' }] }]),
    ).toBe('x.json: steps[1].steps[0].fd: Too small: expected number to be >=0 (i=0)');
    expect(errorOf([{ op: 'repeat', count: 2, steps: [{ op: 'nope' }] }])).toBe(
      'x.json: steps[0].steps[0].op: unknown step op (i=0)',
    );
    expect(errorOf([{ op: 'repeat', count: 2, steps: [{ op: 'repeat', count: 1, steps: [{ op: 'boot' }] }] }])).toMatch(
      /steps\[0\]\.steps\[0\]\.var: loop variable "i" is already used by an outer repeat/,
    );
    expect(errorOf([{ op: 'repeat', count: 1, var: 'I', steps: [{ op: 'boot' }] }])).toMatch(
      /steps\[0\]\.var: a loop variable is a lower-case identifier/,
    );
    expect(errorOf([{ op: 'repeat', count: 2, steps: [] }])).toMatch(/steps\[0\]\.steps: /);
  });

  it('the expansion is capped at 100000 steps', () => {
    expect(errorOf([{ op: 'repeat', count: 60000, steps: [{ op: 'boot' }, { op: 'boot' }] }])).toBe(
      'x.json: steps[0].steps[0]: the scenario expands to more than 100000 steps (i=50000)',
    );
  });
});
