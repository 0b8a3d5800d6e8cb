import { randomUUID } from 'node:crypto';
import { generateApiKey, hashApiKey } from '@agf/access-domain';
import type { Actor, ApiKeyInput, ApiKeyView, Role } from '@agf/contracts';
import type { Transaction } from '@agf/messaging';
import type { EntityManager } from 'typeorm';
import { isUuid } from '../requests/request-view.repository';

interface ApiKeyRow {
  id: string;
  name: string;
  subject: string;
  roles: Role[];
  projects: string[];
  expires_at: Date | null;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
}

/**
 * Stores a new key (its SHA-256 only) and emits `access.key.issued` in the same transaction, so that every
 * service's key replica learns of exactly the keys that exist. The key itself is returned once, to be shown once.
 */
export async function issueApiKey(tx: Transaction, input: ApiKeyInput, issuedBy: Actor, now = new Date()): Promise<{ id: string; key: string; keyHash: string }> {
  const id = randomUUID();
  const key = generateApiKey();
  const keyHash = hashApiKey(key);
  const expiresAt = input.expiresAt ? new Date(input.expiresAt).toISOString() : null;
  await tx.manager.query(
    `INSERT INTO "intake"."api_keys" ("id", "name", "subject", "roles", "projects", "key_hash", "expires_at", "created_at", "created_by")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [id, input.name, input.subject, input.roles, input.projects, keyHash, expiresAt, now, issuedBy.subject],
  );
  tx.emit({
    name: 'access.key.issued',
    correlationId: id,
    data: {
      keyId: id,
      name: input.name,
      subject: input.subject,
      roles: input.roles,
      projects: input.projects,
      keyHash,
      expiresAt,
      issuedAt: now.toISOString(),
      issuedBy,
    },
  });
  return { id, key, keyHash };
}

export type RevocationResult = 'revoked' | 'already-revoked' | 'unknown';

/** Revokes a key and emits `access.key.revoked` once: revoking it again changes and emits nothing. */
export async function revokeApiKey(tx: Transaction, id: string, revokedBy: Actor, now = new Date()): Promise<RevocationResult> {
  if (!isUuid(id)) return 'unknown';
  // The row lock makes a racing second revocation wait, then find the key revoked.
  const [key]: Array<{ revoked_at: Date | null }> = await tx.manager.query(`SELECT "revoked_at" FROM "intake"."api_keys" WHERE "id" = $1 FOR UPDATE`, [id]);
  if (!key) return 'unknown';
  if (key.revoked_at) return 'already-revoked';
  await tx.manager.query(`UPDATE "intake"."api_keys" SET "revoked_at" = $2 WHERE "id" = $1`, [id, now]);
  tx.emit({ name: 'access.key.revoked', correlationId: id, data: { keyId: id, revokedAt: now.toISOString(), revokedBy } });
  return 'revoked';
}

/** Every key, oldest first, as an admin may see it: never the key or its hash. */
export async function listApiKeys(manager: EntityManager): Promise<ApiKeyView[]> {
  const rows: ApiKeyRow[] = await manager.query(
    `SELECT "id", "name", "subject", "roles", "projects", "expires_at", "created_at", "created_by", "revoked_at"
       FROM "intake"."api_keys" ORDER BY "created_at", "id"`,
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    subject: row.subject,
    roles: row.roles,
    projects: row.projects,
    expiresAt: row.expires_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  }));
}

/** Whether a key with the admin role is in force (neither revoked nor expired). */
export async function hasActiveAdminKey(manager: EntityManager, now = new Date()): Promise<boolean> {
  const rows: unknown[] = await manager.query(
    `SELECT 1 FROM "intake"."api_keys"
      WHERE 'admin' = ANY("roles") AND "revoked_at" IS NULL AND ("expires_at" IS NULL OR "expires_at" > $1) LIMIT 1`,
    [now],
  );
  return rows.length > 0;
}
