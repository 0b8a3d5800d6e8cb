import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AuditRow, auditEntryFromRow, canonicalJson, type ChainedAuditEntry, chainEntry } from '@agf/compliance-domain';
import { aDeploymentRequest } from '@agf/contracts/testing';
import { publicKeyFileOf, repositoryRoot } from '@agf/platform';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, testIdentity, TestNats } from '@agf/testing';

jest.setTimeout(120_000);

interface VerifierOutput {
  valid: boolean;
  entries: number;
  firstBrokenEntry?: { sequence: number; reason: string };
  checkpoints?: { verified: number; firstBadCheckpoint?: { sequence: number; name: string; reason: string } };
}

/**
 * The insider: someone with the database superuser's rights rewrites the audit chain consistently, recomputing
 * every later hash and the head, or removes the newest entries and moves the head back. The chain alone still
 * verifies then; the checkpoints compliance signed and wrote outside Postgres must not.
 */
describe('signed audit checkpoints catch a rewrite by a database superuser', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let compliance: ServiceProcess;
  const dir = mkdtempSync(join(tmpdir(), 'agf-checkpoints-'));
  const checkpoints = join(dir, 'checkpoints');
  const keyFile = join(dir, 'checkpoint-key.pem');
  const verifier = join(repositoryRoot(__dirname), 'dist', 'tools', 'audit-verify', 'src', 'main.js');

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    compliance = await ServiceProcess.start('compliance', {
      databaseUrl: db.url,
      namespace: nats.namespace.prefix,
      env: { AGF_AUDIT_CHECKPOINT_DIR: checkpoints, AGF_AUDIT_CHECKPOINT_KEY_FILE: keyFile, AGF_AUDIT_CHECKPOINT_EVERY: '5', AGF_AUDIT_CHECKPOINT_INTERVAL_SECONDS: '1' },
    });
  });

  afterAll(async () => {
    await compliance?.stop();
    await nats?.cleanup();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const head = async () => Number((await db.query<{ sequence: string }>(`SELECT "sequence" FROM "compliance"."chain_head"`))[0]!.sequence);

  async function verify(...extra: string[]): Promise<{ code: number; output: VerifierOutput }> {
    const args = [verifier, '--database-url', db.url, ...extra];
    try {
      const { stdout } = await promisify(execFile)(process.execPath, args);
      return { code: 0, output: JSON.parse(stdout) as VerifierOutput };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      if (!failed.stdout) throw new Error(`audit:verify failed without a result: ${failed.stderr}`, { cause: error });
      return { code: failed.code, output: JSON.parse(failed.stdout) as VerifierOutput };
    }
  }
  const withCheckpoints = () => verify('--checkpoints', checkpoints, '--checkpoint-key', publicKeyFileOf(keyFile));

  async function entries(): Promise<ChainedAuditEntry[]> {
    return (await db.query<AuditRow>(`SELECT * FROM "compliance"."audit_entries" ORDER BY "sequence"`)).map(auditEntryFromRow);
  }

  it('verifies a chain its checkpoints vouch for, then refuses it after each kind of rewrite, naming the first bad checkpoint', async () => {
    // Four rounds, each signed before the next begins: checkpoints at several points of the chain.
    let length = 0;
    for (let round = 0; round < 4; round += 1) {
      for (let i = 0; i < 6; i += 1) {
        const request = aDeploymentRequest({ projectId: `audit-${i % 3}` });
        await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId });
      }
      const before = length;
      length = await eventually(async () => {
        const n = await head();
        expect(n).toBeGreaterThanOrEqual(before + 6);
        expect(readdirSync(checkpoints)).toContain(`checkpoint-${String(n).padStart(12, '0')}.json`);
        return n;
      }, 30_000);
    }
    // The service checks its own checkpoints too.
    const auditor = await (await testIdentity()).headers({ sub: 'auditor-ann', roles: ['auditor'] });
    const served = (await (await fetch(`${compliance.url}/v1/audit/verify`, { headers: auditor })).json()) as VerifierOutput;
    expect(served).toMatchObject({ valid: true, checkpoints: { verified: readdirSync(checkpoints).length } });
    await compliance.stop();
    length = await head();
    expect(readdirSync(checkpoints).length).toBeGreaterThanOrEqual(3);

    const clean = await withCheckpoints();
    expect(clean).toMatchObject({ code: 0, output: { valid: true, entries: length } });
    expect(clean.output.checkpoints!.verified).toBe(readdirSync(checkpoints).length);

    // The insider is a superuser: the append-only trigger is the first thing turned off.
    await db.query(`ALTER TABLE "compliance"."audit_entries" DISABLE TRIGGER USER`);
    // Insider 1: remove the newest entries and move the head back to the last entry kept.
    const all = await entries();
    const kept = all.slice(0, length - 20);
    await db.query(`DELETE FROM "compliance"."audit_entries" WHERE "sequence" > $1`, [kept.length]);
    await db.query(`UPDATE "compliance"."chain_head" SET "sequence" = $1, "entry_hash" = $2`, [kept.length, kept.at(-1)!.entryHash]);
    expect((await verify('--no-checkpoints')).output.valid).toBe(true);
    const truncated = await withCheckpoints();
    expect(truncated.code).toBe(1);
    expect(truncated.output.valid).toBe(false);
    expect(truncated.output.checkpoints!.firstBadCheckpoint!.sequence).toBeGreaterThan(kept.length);
    expect(truncated.output.checkpoints!.firstBadCheckpoint!.reason).toMatch(/entries were removed/);

    // Put the removed entries back as they were: the chain verifies again.
    for (const entry of all.slice(kept.length)) await insert(entry);
    await db.query(`UPDATE "compliance"."chain_head" SET "sequence" = $1, "entry_hash" = $2`, [length, all.at(-1)!.entryHash]);
    expect((await withCheckpoints()).output.valid).toBe(true);

    // Insider 2: rewrite entry 7's payload, recompute every later hash and the head.
    const target = 7;
    let previousHash = all[target - 2]!.entryHash;
    for (const entry of all.slice(target - 1)) {
      const payload = entry.sequence === target ? { ...(entry.payload as object), data: { forged: true } } : entry.payload;
      const rewritten = chainEntry({ ...entry, payload }, previousHash);
      previousHash = rewritten.entryHash;
      await db.query(`DELETE FROM "compliance"."audit_entries" WHERE "sequence" = $1`, [entry.sequence]);
      await insert(rewritten);
    }
    await db.query(`UPDATE "compliance"."chain_head" SET "entry_hash" = $1`, [previousHash]);
    expect((await verify('--no-checkpoints')).output.valid).toBe(true);
    const rewritten = await withCheckpoints();
    expect(rewritten.code).toBe(1);
    const firstCheckpointAtOrAfter = readdirSync(checkpoints)
      .map((name) => Number(/checkpoint-(\d+)\.json/.exec(name)![1]))
      .filter((sequence) => sequence >= target)
      .sort((a, b) => a - b)[0];
    expect(rewritten.output.checkpoints!.firstBadCheckpoint).toMatchObject({ sequence: firstCheckpointAtOrAfter, reason: expect.stringMatching(/rewritten/) });

    // A checkpoint signed by another key is not evidence either.
    const stranger = await verify('--checkpoints', checkpoints, '--checkpoint-key', join(repositoryRoot(__dirname), 'test', 'fixtures', 'other-checkpoint-key.pub.pem'));
    expect(stranger.output.checkpoints!.firstBadCheckpoint!.reason).toMatch(/not among the trusted/);
  });

  async function insert(entry: ChainedAuditEntry): Promise<void> {
    await db.query(
      `INSERT INTO "compliance"."audit_entries" ("sequence", "event_id", "event_type", "subject", "correlation_id", "occurred_at", "recorded_at", "payload", "previous_hash", "content_hash", "entry_hash")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [entry.sequence, entry.eventId, entry.eventType, entry.subject, entry.correlationId, entry.occurredAt, entry.recordedAt, canonicalJson(entry.payload), entry.previousHash, entry.contentHash, entry.entryHash],
    );
  }
});
