import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AuditRow, auditEntryFromRow, type ChainedAuditEntry, verifyChainWithCheckpoints, verifyPagedChain } from '@agf/compliance-domain';
import { AuditCheckpointDirectory, publicKeyFileOf, readPublicKeys, repositoryRoot } from '@agf/platform';
import { Client } from 'pg';

/**
 * `npm run audit:verify` walks the compliance audit chain straight from Postgres, without the service, so an
 * auditor can check the trail with read access alone, and checks it against the signed checkpoints written
 * outside the database. Prints `{valid, entries, firstBrokenEntry?, checkpoints?}`; exit 1 when anything fails.
 */
const DEFAULT_DIR = join(repositoryRoot(__dirname), '.agf', 'audit-checkpoints');
const DEFAULT_KEY = publicKeyFileOf(join(repositoryRoot(__dirname), '.agf', 'audit-checkpoint-key.pem'));

const HELP = `usage: npm run audit:verify [-- --database-url postgres://…] [--checkpoints DIR] [--checkpoint-key PUB.pem ...] [--no-checkpoints]
  --checkpoints      the directory of signed checkpoints (default ${DEFAULT_DIR}, as \`npm start\` writes them)
  --checkpoint-key   a trusted public key (PEM), repeatable for rotated keys (default ${DEFAULT_KEY})
  --no-checkpoints   check the chain alone (a database superuser's consistent rewrite would then go unnoticed)
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/agf)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      checkpoints: { type: 'string' },
      'checkpoint-key': { type: 'string', multiple: true },
      'no-checkpoints': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const directory = values['no-checkpoints'] ? undefined : new AuditCheckpointDirectory(values.checkpoints ?? DEFAULT_DIR);
  // Checkpoints are read before the database: one written meanwhile would lie beyond the head the walk sees.
  const checkpoints = directory?.readAll() ?? [];
  const keyFiles = values['checkpoint-key'] ?? (existsSync(DEFAULT_KEY) ? [DEFAULT_KEY] : []);
  if (checkpoints.length && !keyFiles.length) throw new Error(`${directory!.path} holds checkpoints, but no trusted key was given (--checkpoint-key)`);
  const trustedKeys = readPublicKeys(keyFiles);

  const client = new Client({ connectionString: values['database-url'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/agf' });
  await client.connect();
  try {
    // One snapshot for the whole walk, so appends made meanwhile neither confuse nor extend it.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const head = await client.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
    const recorded = head.rows[0] ? { sequence: Number(head.rows[0].sequence), entryHash: head.rows[0].entry_hash } : undefined;
    const loadPage = async (after: number, limit: number): Promise<ChainedAuditEntry[]> => {
      const page = await client.query<AuditRow>(`SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, [after, limit]);
      return page.rows.map(auditEntryFromRow);
    };
    const result = checkpoints.length ? await verifyChainWithCheckpoints(loadPage, recorded, checkpoints, trustedKeys) : await verifyPagedChain(loadPage, recorded);
    await client.query('COMMIT');
    if (directory && !checkpoints.length) {
      console.error(`audit:verify: no signed checkpoints in ${directory.path}: the chain is checked on its own, and a consistent rewrite by a database superuser would go unnoticed`);
    }
    console.log(JSON.stringify(result, null, 2));
    process.exitCode = result.valid ? 0 : 1;
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(`audit:verify: ${(error as Error).message}`);
  process.exit(2);
});
