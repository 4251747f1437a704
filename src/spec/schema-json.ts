import { allSimulations } from '../sim/registry.js';
import { jsonSchema } from './schema.js';

/** The text of experiments/schema.json; a test checks the committed file equals it. */
export function schemaJsonText(): string {
  const schema = { title: 'attnlab experiment', ...(jsonSchema(allSimulations()) as object) };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
