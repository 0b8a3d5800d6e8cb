import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishedDocuments } from './published-documents';

const GENERATED = join(__dirname, '..', '..', 'generated');

describe('published JSON Schema and AsyncAPI documents', () => {
  const documents = publishedDocuments();

  it.each(Object.keys(documents))('%s matches the code (run `npm run contracts:generate` after changing a schema)', (file) => {
    const checkedIn: unknown = JSON.parse(readFileSync(join(GENERATED, file), 'utf8'));
    expect(checkedIn).toEqual(documents[file]);
  });

  it('describes every message of the catalog in AsyncAPI 3', () => {
    const asyncapi = documents['asyncapi.json'] as { asyncapi: string; channels: Record<string, { address: string }> };
    expect(asyncapi.asyncapi).toBe('3.0.0');
    expect(asyncapi.channels['decision_made']?.address).toBe('agf.v1.decision.made.{projectId}');
  });
});
