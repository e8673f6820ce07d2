/**
 * Scenario files: a machine, a seed and a list of steps. The same schema validates files opened
 * in the app, files given to the CLI, and is exported as JSON Schema for editors.
 */
import { z } from 'zod';
import { CommandSchema } from './commands';
import { MachineConfigSchema } from './machine-config';
import { type Result, failure, ok } from './result';

export const ScenarioSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).max(128).default('untitled'),
    description: z.string().max(4096).default(''),
    machine: MachineConfigSchema.prefault({}),
    steps: z.array(CommandSchema).max(100000),
  })
  .strict();

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** Renders a zod issue path the way jq users write it: steps[3].size */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

/** Formats zod issues as "source: path: message" lines, most specific first. */
export function describeIssues(source: string, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      if (i.code === 'invalid_union' && i.path.length > 0 && i.message.includes('discriminator')) {
        return `${source}: ${jsonPath(i.path)}: unknown step op`;
      }
      return `${source}: ${jsonPath(i.path)}: ${i.message}`;
    })
    .join('\n');
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
