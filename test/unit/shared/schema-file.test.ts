/** scenarios/scenario.schema.json must be what `npm run schema` writes from the zod schema today. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_PATH, schemaText } from '../../../build/write-scenario-schema';

describe('scenario JSON Schema file', () => {
  it('is in step with shared/scenario.ts (run `npm run schema` after changing commands)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(schemaText());
  });

  it('lists every command op for editors', () => {
    const schema = JSON.parse(schemaText()) as {
      properties: { steps: { items: { oneOf: Array<{ properties: { op: { const: string } } }> } } };
    };
    const ops = schema.properties.steps.items.oneOf.map((o) => o.properties.op.const);
    expect(ops).toContain('boot');
    expect(ops).toContain('luo_preserve_fd');
    expect(new Set(ops).size).toBe(ops.length);
  });
});
