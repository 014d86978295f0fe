/** Writes the *.schema.json files beside this module from schemas.ts (npm run schemas). */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILES } from './schemas.js';

const here = dirname(fileURLToPath(import.meta.url)).replace(`${'/dist'}/`, '/');
for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
  writeFileSync(join(here, name), JSON.stringify(schema, null, 2) + '\n');
}
