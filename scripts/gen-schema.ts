/** Writes experiments/schema.json from the zod schemas (the one source of the types). `npm run schema`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPERIMENTS_DIR } from '../src/spec/load.js';
import { schemaJsonText } from '../src/spec/schema-json.js';

const file = join(EXPERIMENTS_DIR, 'schema.json');
writeFileSync(file, schemaJsonText());
console.log(file);
