import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { type AttestationPublicKey, ed25519PrivateKey, publicKeyEntry } from '@agf/attestation-domain';

/** Where a fresh installation keeps the key it generated for itself (like the bootstrap admin key). */
export const DEFAULT_ATTESTATION_KEY_FILE = '.agf/attestation-key.pem';

/**
 * The Ed25519 key intake signs decision attestations with: `AGF_ATTESTATION_KEY` (PEM), or the file
 * `AGF_ATTESTATION_KEY_FILE` (default `.agf/attestation-key.pem`, generated at first start when missing).
 * `AGF_ATTESTATION_PREVIOUS_KEYS` (PEM public or private keys, concatenated) are served too, so attestations
 * signed before a rotation still verify.
 */
@Injectable()
export class AttestationSigner {
  private readonly logger = new Logger('attestations');
  readonly privateKey: KeyObject;
  readonly publicKeys: AttestationPublicKey[];

  constructor() {
    this.privateKey = this.loadKey();
    const current = publicKeyEntry(this.privateKey, 'current');
    const previous = splitPem(process.env['AGF_ATTESTATION_PREVIOUS_KEYS'] ?? '')
      .map((pem) => publicKeyEntry(createPublicKey(pem), 'previous'))
      .filter((k) => k.keyid !== current.keyid);
    this.publicKeys = [current, ...previous];
  }

  private loadKey(): KeyObject {
    const pem = process.env['AGF_ATTESTATION_KEY'];
    if (pem?.trim()) return ed25519PrivateKey(pem.replace(/\\n/g, '\n'));
    const path = resolve(process.env['AGF_ATTESTATION_KEY_FILE'] || DEFAULT_ATTESTATION_KEY_FILE);
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const generated = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      try {
        writeFileSync(path, generated, { mode: 0o600, flag: 'wx' });
        this.logger.log(`no attestation key configured: generated an Ed25519 key into ${path} (set AGF_ATTESTATION_KEY or AGF_ATTESTATION_KEY_FILE to use your own)`);
      } catch (error) {
        // Another replica wrote it first: use that one.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return ed25519PrivateKey(readFileSync(path, 'utf8'));
  }
}

function splitPem(text: string): string[] {
  return [...text.replace(/\\n/g, '\n').matchAll(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g)].map((m) => m[0]);
}
