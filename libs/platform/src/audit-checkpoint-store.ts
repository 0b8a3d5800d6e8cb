import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SignedAuditCheckpoint } from '@agf/compliance-domain';

/**
 * Signed audit checkpoints on disk: one file per checkpoint, named by its sequence, created exclusively and
 * never rewritten (an append-only directory; an operator may point it at a WORM mount or sync it to an object
 * store). Kept out of Postgres on purpose: a database superuser must not be able to rewrite them.
 */
export class AuditCheckpointDirectory {
  constructor(readonly path: string) {}

  /** Writes a checkpoint unless one for that sequence exists (another replica wrote it); true when written. */
  write(signed: SignedAuditCheckpoint): boolean {
    mkdirSync(this.path, { recursive: true });
    try {
      writeFileSync(join(this.path, fileNameOf(signed.checkpoint.sequence)), `${JSON.stringify(signed, null, 2)}\n`, { flag: 'wx', mode: 0o444 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /** Every checkpoint file, by sequence; a file that is not a checkpoint is reported by name, not skipped. */
  readAll(): Array<{ name: string; signed: SignedAuditCheckpoint }> {
    if (!existsSync(this.path)) return [];
    return readdirSync(this.path)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => {
        try {
          return { name, signed: JSON.parse(readFileSync(join(this.path, name), 'utf8')) as SignedAuditCheckpoint };
        } catch (error) {
          throw new Error(`${join(this.path, name)} is not a readable checkpoint: ${(error as Error).message}`, { cause: error });
        }
      });
  }

  latestSequence(): number {
    const sequences = this.readAll().map((c) => c.signed.checkpoint.sequence);
    return sequences.length ? Math.max(...sequences) : 0;
  }
}

function fileNameOf(sequence: number): string {
  return `checkpoint-${String(sequence).padStart(12, '0')}.json`;
}

/** Where the public half of a checkpoint key lives: next to the private one, for the verifier. */
export function publicKeyFileOf(privateKeyFile: string): string {
  return privateKeyFile.replace(/(\.pem)?$/, '.pub.pem');
}

/**
 * The Ed25519 key compliance signs checkpoints with; created (mode 0600, its public half beside it) on first
 * use when the file does not exist yet, as `npm start` does on a new checkout.
 */
export function loadOrCreateCheckpointKey(privateKeyFile: string, onCreated: (message: string) => void): KeyObject {
  if (existsSync(privateKeyFile)) return createPrivateKey(readFileSync(privateKeyFile));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(privateKeyFile), { recursive: true });
  try {
    writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    // Another replica created it first: use that one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return createPrivateKey(readFileSync(privateKeyFile));
    throw error;
  }
  writeFileSync(publicKeyFileOf(privateKeyFile), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  onCreated(`created the audit checkpoint key ${privateKeyFile} (public key: ${publicKeyFileOf(privateKeyFile)})`);
  return privateKey;
}

/** Trusted public keys from PEM files (current and previous keys, for rotation). */
export function readPublicKeys(files: readonly string[]): KeyObject[] {
  return files.map((file) => createPublicKey(readFileSync(file)));
}
