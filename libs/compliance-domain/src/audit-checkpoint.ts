import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson, type ChainVerificationResult, ChainVerifier, type ChainedAuditEntry } from './audit-chain';

/**
 * A signed statement "the chain's entry `sequence` had hash `entryHash` at `signedAt`", written outside the
 * database. Whoever can rewrite the database can recompute every hash and the head, but cannot sign: a rewrite
 * of an entry at or before a checkpoint, or the removal of entries a checkpoint vouches for, is caught.
 */
export interface AuditCheckpoint {
  /** Which chain: the hash of its first entry, so checkpoints of another database's chain are told apart. */
  chainStart: string;
  sequence: number;
  entryHash: string;
  signedAt: string;
  /** Which key signed it: the first 16 hex digits of the SHA-256 of its public key (SPKI DER). */
  keyId: string;
}

export interface SignedAuditCheckpoint {
  checkpoint: AuditCheckpoint;
  /** Ed25519 over the canonical JSON of `checkpoint`, base64. */
  signature: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function signCheckpoint(chainStart: string, head: { sequence: number; entryHash: string }, privateKey: KeyObject, signedAt = new Date()): SignedAuditCheckpoint {
  const checkpoint: AuditCheckpoint = { chainStart, sequence: head.sequence, entryHash: head.entryHash, signedAt: signedAt.toISOString(), keyId: keyIdOf(createPublicKey(privateKey)) };
  return { checkpoint, signature: sign(null, Buffer.from(canonicalJson(checkpoint)), privateKey).toString('base64') };
}

/** Why a checkpoint does not hold, or undefined when its signature is good (the chain is compared separately). */
function signatureProblem(signed: SignedAuditCheckpoint, keys: ReadonlyMap<string, KeyObject>): string | undefined {
  const key = keys.get(signed.checkpoint.keyId);
  if (!key) return `signed by key ${signed.checkpoint.keyId}, which is not among the trusted checkpoint keys`;
  const good = verify(null, Buffer.from(canonicalJson(signed.checkpoint)), key, Buffer.from(signed.signature, 'base64'));
  return good ? undefined : 'the signature does not match the checkpoint: it was altered or forged';
}

export interface CheckpointVerification {
  /** Checkpoints whose signature is good and whose entry the chain still holds with the same hash. */
  verified: number;
  latest?: { sequence: number; signedAt: string };
  firstBadCheckpoint?: { sequence: number; signedAt: string; name: string; reason: string };
}

export type CheckedChainResult = ChainVerificationResult & { checkpoints: CheckpointVerification };

/**
 * Walks the chain page by page like `verifyPagedChain` and checks it against signed checkpoints (each with a
 * name, e.g. its file): every checkpoint must be signed by a trusted key, and the chain must still hold its
 * entry with its hash. The first one that fails is named.
 */
export async function verifyChainWithCheckpoints(
  loadPage: (afterSequence: number, limit: number) => Promise<ChainedAuditEntry[]>,
  head: { sequence: number; entryHash: string } | undefined,
  checkpoints: ReadonlyArray<{ name: string; signed: SignedAuditCheckpoint }>,
  trustedKeys: readonly KeyObject[],
  pageSize = 2000,
): Promise<CheckedChainResult> {
  const wanted = new Set([1, ...checkpoints.map((c) => c.signed.checkpoint.sequence)]);
  const hashAt = new Map<number, string>();
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await loadPage(after, pageSize);
    for (const entry of page) {
      verifier.add(entry);
      if (wanted.has(entry.sequence)) hashAt.set(entry.sequence, entry.entryHash);
    }
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.sequence;
  }
  const chain = verifier.result(head);
  const chainStart = hashAt.get(1);
  const ordered = checkpoints.filter((c) => c.signed.checkpoint.chainStart === chainStart).sort((a, b) => a.signed.checkpoint.sequence - b.signed.checkpoint.sequence);
  if (checkpoints.length && !ordered.length) {
    const [first] = checkpoints;
    const reason = `none of the ${checkpoints.length} checkpoints is of this chain (whose first entry has hash ${chainStart ?? 'none'}): its first entry was rewritten, or these checkpoints are another database's`;
    const firstBadCheckpoint = { sequence: first!.signed.checkpoint.sequence, signedAt: first!.signed.checkpoint.signedAt, name: first!.name, reason };
    return { ...chain, valid: false, checkpoints: { verified: 0, firstBadCheckpoint } };
  }
  const keys = new Map(trustedKeys.map((key) => [keyIdOf(key), key]));
  const result: CheckpointVerification = { verified: 0 };
  for (const { name, signed } of ordered) {
    const { sequence, signedAt, entryHash } = signed.checkpoint;
    const held = hashAt.get(sequence);
    const reason =
      signatureProblem(signed, keys) ??
      (held === undefined
        ? `the checkpoint vouches for entry ${sequence}, but the chain ends at ${head?.sequence ?? 0}: entries were removed and the head moved back`
        : held !== entryHash
          ? `entry ${sequence} no longer has the hash signed at ${signedAt}: an entry at or before it was rewritten and the later hashes recomputed`
          : undefined);
    if (reason) {
      result.firstBadCheckpoint = { sequence, signedAt, name, reason };
      break;
    }
    result.verified += 1;
    result.latest = { sequence, signedAt };
  }
  return { ...chain, valid: chain.valid && !result.firstBadCheckpoint, checkpoints: result };
}
