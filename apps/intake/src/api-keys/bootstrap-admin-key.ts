import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { TransactionalPublisher } from '@agf/messaging';
import { hashApiKey } from '@agf/access-domain';
import { hasActiveAdminKey, issueApiKey } from './api-keys.use-case';

/** Held for the transaction that checks for an admin key and issues one, so that replicas starting together issue one key. */
const BOOTSTRAP_LOCK = 7_364_110_233_001;

/**
 * On a database without an admin API key in force, issues one and writes it to `keyFile` (mode 0600), so that a
 * fresh installation can be administered at all; the log names the file, never the key. The file is written
 * before the transaction commits: a key that cannot be written is not issued either.
 * Returns the SHA-256 of the key issued, if one was.
 */
export async function bootstrapAdminKey(publisher: TransactionalPublisher, keyFile: string, logger = new Logger('intake')): Promise<string | undefined> {
  const path = resolve(keyFile);
  const issued = await publisher.transaction(async (tx) => {
    await tx.manager.query(`SELECT pg_advisory_xact_lock($1)`, [BOOTSTRAP_LOCK]);
    if (await hasActiveAdminKey(tx.manager)) return undefined;
    const { key } = await issueApiKey(
      tx,
      { name: 'bootstrap admin', subject: 'bootstrap-admin', roles: ['admin'], projects: ['*'] },
      { subject: 'agf-intake', channel: 'http' },
    );
    await writeSecretFile(path, `${key}\n`);
    return hashApiKey(key);
  });
  if (issued) logger.log(`bootstrap admin key written to ${path}`);
  else logger.debug(`an admin API key exists: ${path} left as it is`);
  return issued;
}

/** Written beside its final name and renamed, so that the file holds either the old content or the whole key. */
async function writeSecretFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
