import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { publishedDocuments } from '@agf/contracts';

/** Writes libs/contracts/generated/ from the zod schemas (JSON Schema per message + AsyncAPI 3). */
const target = join(__dirname, '..', '..', '..', '..', 'libs', 'contracts', 'generated');
for (const [file, document] of Object.entries(publishedDocuments())) {
  const path = join(target, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(publishedDocuments()).length} documents to ${target}`);
