import { parseArgs } from 'node:util';
import { type AuditRow, auditEntryFromRow, verifyPagedChain } from '@agf/compliance-domain';
import { Client } from 'pg';

/**
 * `npm run audit:verify` walks the compliance audit chain straight from Postgres, without the service,
 * so an auditor can check the trail with read access alone. Prints `{valid, entries, firstBrokenEntry?}`
 * and exits 1 when the chain is broken.
 */
const HELP = `usage: npm run audit:verify [-- --database-url postgres://…]
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/agf)`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const client = new Client({ connectionString: values['database-url'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/agf' });
  await client.connect();
  try {
    // One snapshot for the whole walk, so appends made meanwhile neither confuse nor extend it.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const head = await client.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
    const recorded = head.rows[0];
    const result = await verifyPagedChain(
      async (after, limit) => {
        const page = await client.query<AuditRow>(`SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, [after, limit]);
        return page.rows.map(auditEntryFromRow);
      },
      recorded ? { sequence: Number(recorded.sequence), entryHash: recorded.entry_hash } : undefined,
    );
    await client.query('COMMIT');
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
