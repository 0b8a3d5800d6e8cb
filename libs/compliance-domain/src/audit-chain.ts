import { createHash } from 'node:crypto';

/** The previousHash of the very first entry: there is nothing before it to point to. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON text that is already canonical (what `canonicalJson` produced earlier), embedded as it is: the chainer
 * hashes stored event payloads without parsing and re-serialising each one.
 */
export class CanonicalJsonText {
  constructor(readonly text: string) {}
}

/**
 * Deterministic JSON (RFC 8785-like): the same value always gives the same text,
 * so hashes computed today can be recomputed years later.
 */
export function canonicalJson(value: unknown): string {
  // One string grown by appending (V8 joins the pieces once, when the hash reads it) rather than a list of
  // pieces joined at the end: compliance canonicalises every event it audits, and the list was garbage.
  const out = { text: '' };
  writeCanonical(value, out);
  return out.text;
}

/**
 * `"key":` of the object keys met so far: events repeat the same few hundred keys, each escaped once. Bounded in
 * count and key length, since keys of free-form maps (metadata) come from outside.
 */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;
const MAX_QUOTED_KEY_LENGTH = 64;

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = `${JSON.stringify(key)}:`;
    if (quotedKeys.size < MAX_QUOTED_KEYS && key.length <= MAX_QUOTED_KEY_LENGTH) quotedKeys.set(key, quoted);
  }
  return quoted;
}

function writeCanonical(value: unknown, out: { text: string }): void {
  if (value === null) {
    out.text += 'null';
    return;
  }
  if (value instanceof CanonicalJsonText) {
    out.text += value.text;
    return;
  }
  if (value instanceof Date) {
    out.text += JSON.stringify(value.toISOString());
    return;
  }
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) {
        throw new Error(`canonicalJson: non-finite number ${value} cannot be represented in JSON`);
      }
      out.text += JSON.stringify(value);
      return;
    case 'string':
    case 'boolean':
      out.text += JSON.stringify(value);
      return;
    case 'object': {
      if (Array.isArray(value)) {
        out.text += '[';
        for (let i = 0; i < value.length; i += 1) {
          if (i > 0) out.text += ',';
          // Like JSON.stringify, undefined array items become null so positions stay stable.
          const item: unknown = value[i];
          if (item === undefined) out.text += 'null';
          else writeCanonical(item, out);
        }
        out.text += ']';
        return;
      }
      const record = value as Record<string, unknown>;
      out.text += '{';
      let first = true;
      for (const key of sortedInPlace(Object.keys(record))) {
        const member = record[key];
        if (member === undefined) continue;
        if (!first) out.text += ',';
        first = false;
        out.text += quotedKey(key);
        writeCanonical(member, out);
      }
      out.text += '}';
      return;
    }
    default:
      throw new Error(`canonicalJson: values of type ${typeof value} cannot be represented in JSON`);
  }
}

/**
 * The keys in the order `Array.prototype.sort` gives strings (by UTF-16 code units, as `<` compares them),
 * sorted where they are: V8's sort copies the array into a work array of its own first, and that copy was the
 * largest of compliance's allocations (8 % of its bytes; its objects have a few keys each).
 */
function sortedInPlace(keys: string[]): string[] {
  // Insertion sort is quadratic: a free-form map from outside with many keys gets V8's sort.
  if (keys.length > 32) return keys.sort();
  for (let i = 1; i < keys.length; i += 1) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j -= 1) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface AuditEntryContent {
  sequence: number;
  eventId: string;
  eventType: string;
  subject: string;
  correlationId: string | null;
  occurredAt: string;
  recordedAt: string;
  /** The whole CloudEvent envelope as received. */
  payload: unknown;
}

export interface ChainedAuditEntry extends AuditEntryContent {
  previousHash: string;
  contentHash: string;
  entryHash: string;
}

export interface ChainVerificationResult {
  valid: boolean;
  entries: number;
  firstBrokenEntry?: { sequence: number; reason: string };
}

/** Picks only the content fields, so extra columns (ids, hashes) never leak into the content hash. */
function contentOf(entry: AuditEntryContent): AuditEntryContent {
  return {
    sequence: entry.sequence,
    eventId: entry.eventId,
    eventType: entry.eventType,
    subject: entry.subject,
    correlationId: entry.correlationId,
    occurredAt: entry.occurredAt,
    recordedAt: entry.recordedAt,
    payload: entry.payload,
  };
}

export function computeContentHash(content: AuditEntryContent): string {
  return sha256Hex(canonicalJson(contentOf(content)));
}

export function computeEntryHash(previousHash: string, contentHash: string): string {
  return sha256Hex(previousHash + contentHash);
}

export function chainEntry(content: AuditEntryContent, previousHash: string): ChainedAuditEntry {
  const contentHash = computeContentHash(content);
  return {
    ...contentOf(content),
    previousHash,
    contentHash,
    entryHash: computeEntryHash(previousHash, contentHash),
  };
}

/**
 * Verifies a chain one entry at a time, so a large audit table can be walked
 * page by page without holding it in memory.
 */
export class ChainVerifier {
  private entriesSeen = 0;
  private previous: Pick<ChainedAuditEntry, 'sequence' | 'entryHash'> | null;
  private firstBrokenEntry: { sequence: number; reason: string } | undefined;

  /** `after`: the entry a segment of the chain continues from (trusted as it is); the genesis when absent. */
  constructor(after?: Pick<ChainedAuditEntry, 'sequence' | 'entryHash'>) {
    this.previous = after ?? null;
  }

  add(entry: ChainedAuditEntry): void {
    this.entriesSeen += 1;
    // After the first break every later entry is suspect anyway; we only keep counting.
    if (this.firstBrokenEntry) return;

    const reason = this.findProblem(entry);
    if (reason) {
      this.firstBrokenEntry = { sequence: entry.sequence, reason };
      return;
    }
    this.previous = entry;
  }

  /**
   * `expectedHead` is the chain head recorded on every append: without it, deleting the newest entries
   * would leave a shorter chain that still verifies.
   */
  result(expectedHead?: { sequence: number; entryHash: string }): ChainVerificationResult {
    if (expectedHead && !this.firstBrokenEntry) {
      const last = this.previous;
      if ((last?.sequence ?? 0) !== expectedHead.sequence || (last?.entryHash ?? GENESIS_HASH) !== expectedHead.entryHash) {
        this.firstBrokenEntry = {
          sequence: (last?.sequence ?? 0) + 1,
          reason: `chain head mismatch: the head records entry ${expectedHead.sequence}, the chain ends at ${last?.sequence ?? 0}, so entries were removed or the head was changed`,
        };
      }
    }
    const result: ChainVerificationResult = {
      valid: this.firstBrokenEntry === undefined,
      entries: this.entriesSeen,
    };
    if (this.firstBrokenEntry) result.firstBrokenEntry = { ...this.firstBrokenEntry };
    return result;
  }

  private findProblem(entry: ChainedAuditEntry): string | null {
    const expectedSequence = this.previous ? this.previous.sequence + 1 : 1;
    if (entry.sequence !== expectedSequence) {
      return `sequence gap: expected entry ${expectedSequence} but found ${entry.sequence}, so an entry was deleted, inserted or reordered`;
    }

    const expectedPreviousHash = this.previous ? this.previous.entryHash : GENESIS_HASH;
    if (entry.previousHash !== expectedPreviousHash) {
      return this.previous
        ? 'previous hash mismatch: the entry does not point to the entry recorded before it'
        : 'previous hash mismatch: the first entry does not start from the genesis hash';
    }

    if (computeContentHash(entry) !== entry.contentHash) {
      return 'content hash mismatch: the entry was changed after it was recorded';
    }

    if (computeEntryHash(entry.previousHash, entry.contentHash) !== entry.entryHash) {
      return 'entry hash mismatch: the stored entry hash does not match its previous hash and content hash';
    }

    return null;
  }
}

export function verifyChain(entries: Iterable<ChainedAuditEntry>): ChainVerificationResult {
  const verifier = new ChainVerifier();
  for (const entry of entries) verifier.add(entry);
  return verifier.result();
}

/** A stored audit row as Postgres returns it (the `compliance.audit_entries` columns). */
export interface AuditRow {
  sequence: string | number;
  event_id: string;
  event_type: string;
  subject: string;
  correlation_id: string | null;
  occurred_at: string;
  recorded_at: string;
  /** The canonical JSON of the envelope, exactly as hashed. */
  payload: string;
  previous_hash: string;
  content_hash: string;
  entry_hash: string;
}

export function auditEntryFromRow(row: AuditRow): ChainedAuditEntry {
  return {
    sequence: Number(row.sequence),
    eventId: row.event_id,
    eventType: row.event_type,
    subject: row.subject,
    correlationId: row.correlation_id,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    payload: JSON.parse(row.payload) as unknown,
    previousHash: row.previous_hash,
    contentHash: row.content_hash,
    entryHash: row.entry_hash,
  };
}

/**
 * Walks a chain page by page (`loadPage(afterSequence, limit)`, oldest first) and checks it against the
 * recorded head; used by the service's endpoint and by the offline command alike.
 */
export async function verifyPagedChain(
  loadPage: (afterSequence: number, limit: number) => Promise<ChainedAuditEntry[]>,
  head: { sequence: number; entryHash: string } | undefined,
  pageSize = 2000,
): Promise<ChainVerificationResult> {
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await loadPage(after, pageSize);
    for (const entry of page) verifier.add(entry);
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.sequence;
  }
  return verifier.result(head);
}

/**
 * Verifies the entries after `after` up to `lastSequence` (a period of the chain) against `after`'s hash: that
 * they follow it and each other unchanged, and none is missing. Its cost is the period's, whatever the chain's
 * length; it vouches for the period alone (whether `after` itself is intact is the whole walk's to say).
 */
export async function verifyChainSegment(
  loadPage: (afterSequence: number, limit: number) => Promise<ChainedAuditEntry[]>,
  after: Pick<ChainedAuditEntry, 'sequence' | 'entryHash'>,
  lastSequence: number,
  pageSize = 2000,
): Promise<ChainVerificationResult> {
  const verifier = new ChainVerifier(after);
  let from = after.sequence;
  while (from < lastSequence) {
    const page = await loadPage(from, Math.min(pageSize, lastSequence - from));
    for (const entry of page) verifier.add(entry);
    if (!page.length) break;
    from = page[page.length - 1]!.sequence;
  }
  const result = verifier.result();
  const end = after.sequence + result.entries;
  if (!result.valid || end === lastSequence) return result;
  return { ...result, valid: false, firstBrokenEntry: { sequence: end + 1, reason: `sequence gap: the segment ends at entry ${end}, not ${lastSequence}` } };
}
