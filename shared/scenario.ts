/**
 * Scenario files: a machine, a seed and a list of steps. The same schema validates files opened
 * in the app, files given to the CLI, and is exported as JSON Schema for editors.
 */
import { z } from 'zod';
import { type Command, CommandSchema } from './commands';
import { MachineConfigSchema } from './machine-config';
import { type Result, failure, ok } from './result';
import { RepeatSchema, type RepeatStep, expandSteps } from './scenario-repeat';

/** The most steps a scenario may hold once its repeats are expanded. */
export const MAX_SCENARIO_STEPS = 100000;

/** A step as a file writes it: a command, or a repeat of commands (shared/scenario-repeat.ts). */
const StepSchema = z.discriminatedUnion('op', [...CommandSchema.options, RepeatSchema]);

const isRepeat = (s: Command | RepeatStep): s is RepeatStep => s.op === 'repeat';

/** One substituted body step of a repeat, validated like a step of the file. */
function parseBodyStep(raw: unknown) {
  const r = StepSchema.safeParse(raw);
  return r.success
    ? { ok: true as const, step: r.data }
    : { ok: false as const, issues: r.error.issues.map((i) => ({ path: i.path, message: issueText(i) })) };
}

export const ScenarioSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).max(128).default('untitled'),
    description: z.string().max(4096).default(''),
    machine: MachineConfigSchema.prefault({}),
    steps: z.array(StepSchema).max(MAX_SCENARIO_STEPS),
  })
  .strict()
  .transform((s, ctx) => {
    const r = expandSteps<Command>(s.steps, parseBodyStep, isRepeat, MAX_SCENARIO_STEPS);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', path: ['steps', ...r.issue.path], message: r.issue.message });
      return z.NEVER;
    }
    return { ...s, steps: r.steps };
  });

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** Renders a zod issue path the way jq users write it: steps[3].size */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

/** One zod issue's message, an unknown step op named as such. */
function issueText(i: z.core.$ZodIssue): string {
  return i.code === 'invalid_union' && i.path.length > 0 && i.message.includes('discriminator')
    ? 'unknown step op'
    : i.message;
}

/** Formats zod issues as "source: path: message" lines, most specific first. */
export function describeIssues(source: string, error: z.ZodError): string {
  return error.issues.map((i) => `${source}: ${jsonPath(i.path)}: ${issueText(i)}`).join('\n');
}

/** Parses scenario text; every failure names the source, the JSON path and what was expected. */
export function parseScenario(text: string, source: string): Result<Scenario> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return failure(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  const r = ScenarioSchema.safeParse(json);
  return r.success ? ok(r.data) : failure(describeIssues(source, r.error));
}

/** JSON Schema for scenario files (draft 2020-12), for editor completion. */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' });
}
