import { createHash, createHmac, randomBytes } from 'node:crypto';
import { newId } from '@agf/contracts';
import { canonicalJson } from './audit-chain';

/**
 * Personal fields under the hash chain. Before an event is chained, each personal value in it is replaced by
 * a salted commitment `{"$personal": id, "commitment": sha256(salt + canonical value)}`; the value and its salt
 * are kept beside the chain (`compliance.personal_values`), owned by the people it is about. The chain hashes
 * only the commitment, so removing the value (erasure, retention) leaves every hash intact, and a value that
 * is shown can be checked against its commitment. Without the salt, a commitment gives nothing to guess with.
 */
export interface SealedValue {
  $personal: string;
  commitment: string;
}

export interface PersonalValue {
  id: string;
  /** HMAC digests of the people the value is about (an identity: itself; free text: everyone in the change). */
  owners: string[];
  value: unknown;
  salt: string;
}

/** Keys whose object value is a verified identity (`{subject, issuer?, channel}`): its `subject` is a person. */
const IDENTITY_OBJECT_KEYS = new Set(['actor', 'approvedBy', 'resolvedBy', 'identity', 'submittedBy', 'requestedBy', 'issuedBy', 'revokedBy', 'changedBy']);
/** Keys whose string value names a person. */
const PERSON_KEYS = new Set(['requester', 'principal', 'createdBy', 'requestedBy']);
/** Keys whose value people wrote, or that may mention people: sealed for everyone in the change. */
const FREE_TEXT_KEYS = new Set(['comments', 'justification', 'reason', 'detail', 'decisionRationale', 'rationale', 'clientAddress', 'email', 'phone', 'conditions', 'tierReasons']);

export const isSealedValue = (value: unknown): value is SealedValue =>
  typeof value === 'object' && value !== null && typeof (value as SealedValue).$personal === 'string' && typeof (value as SealedValue).commitment === 'string';

export function commitmentOf(value: unknown, salt: string): string {
  return createHash('sha256').update(salt + canonicalJson(value)).digest('hex');
}

/** The digest a person is known by beside the chain: HMAC-SHA256 under compliance's own key. */
export function subjectDigest(key: string, subject: string): string {
  return createHmac('sha256', key).update(subject, 'utf8').digest('hex');
}

/** The people an event names (verified identities and requesters), wherever they are in it. */
export function peopleIn(value: unknown, found = new Set<string>(), key?: string): Set<string> {
  if (Array.isArray(value)) for (const item of value) peopleIn(item, found, key);
  else if (value && typeof value === 'object') {
    if (key && (IDENTITY_OBJECT_KEYS.has(key) || key === 'data') && typeof (value as { subject?: unknown }).subject === 'string') found.add((value as { subject: string }).subject);
    for (const k of Object.keys(value)) peopleIn((value as Record<string, unknown>)[k], found, k);
  } else if (key && PERSON_KEYS.has(key) && typeof value === 'string') found.add(value);
  return found;
}

/**
 * Replaces every personal value of `event` by its commitment. `changeOwners` are the digests of the people of
 * the whole change (this event's included): free text is owned by all of them, since it may mention any.
 */
export function sealPersonalFields(event: unknown, digestOf: (subject: string) => string, changeOwners: ReadonlySet<string>): { sealed: unknown; values: PersonalValue[] } {
  const sealing = new Sealing(digestOf, [...changeOwners].sort());
  return { sealed: sealing.walk(event, undefined, true), values: sealing.values };
}

/**
 * One event's sealing. A class rather than closures made per event: V8 drops the optimised code of closures no
 * live object holds at each major collection, and compiles them again once hot.
 */
class Sealing {
  readonly values: PersonalValue[] = [];
  private readonly salts = new SaltPool();

  constructor(
    private readonly digestOf: (subject: string) => string,
    /** Free text is owned by all the people of the change, since it may mention any. */
    private readonly everyone: string[],
  ) {}

  private seal(value: unknown, owners: string[]): SealedValue {
    const salt = this.salts.next();
    const id = newId();
    this.values.push({ id, owners, value, salt });
    return { $personal: id, commitment: commitmentOf(value, salt) };
  }

  // Copy on write: a part with nothing to seal is the event's own (most of an event is not personal), so
  // sealing allocates only along the paths to what it replaces. The event itself is never changed.
  walk(value: unknown, key: string | undefined, topLevel: boolean): unknown {
    if (Array.isArray(value)) {
      if (key && FREE_TEXT_KEYS.has(key) && value.length) return this.seal(value, this.everyone);
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i += 1) {
        const item: unknown = value[i];
        const walked = this.walk(item, key, false);
        if (copy === undefined && walked !== item) copy = value.slice(0, i);
        copy?.push(walked);
      }
      return copy ?? value;
    }
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      let copy: Record<string, unknown> | undefined;
      for (let i = 0; i < keys.length; i += 1) {
        const k = keys[i]!;
        const v = record[k];
        // The envelope's own `subject` is the correlation id, not a person.
        // An API key's `subject` (`access.key.*` events' data) is the person the key is for.
        const walked =
          k === 'subject' && key && (IDENTITY_OBJECT_KEYS.has(key) || key === 'data') && typeof v === 'string'
            ? this.seal(v, [this.digestOf(v)])
            : topLevel && k === 'subject'
              ? v
              : this.walk(v, k, false);
        if (copy === undefined && walked !== v) {
          copy = {};
          for (let j = 0; j < i; j += 1) copy[keys[j]!] = record[keys[j]!];
        }
        if (copy) copy[k] = walked;
      }
      return copy ?? value;
    }
    if (typeof value === 'string' && key && PERSON_KEYS.has(key)) return this.seal(value, [this.digestOf(value)]);
    if (typeof value === 'string' && value !== '' && key && FREE_TEXT_KEYS.has(key)) return this.seal(value, this.everyone);
    return value;
  }
}

/**
 * Fresh 16-byte salts (hex), drawn from the CSPRNG sixteen at a time: one `randomBytes` call cost about as
 * much as the rest of a value's sealing, and an event seals several.
 */
class SaltPool {
  private static readonly SALT_BYTES = 16;
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): string {
    const size = SaltPool.SALT_BYTES;
    if (this.offset === this.pool.length) {
      this.pool = randomBytes(size * 16);
      this.offset = 0;
    }
    this.offset += size;
    return this.pool.toString('hex', this.offset - size, this.offset);
  }
}

/**
 * Puts the kept values back in place of their commitments; a value no longer kept (erased, or past its
 * retention) is shown as `[erased]`. A kept value that does not match its commitment is shown as
 * `[altered]`: the chain vouches for the commitment, not for the table beside it.
 */
export function revealPersonalFields(sealed: unknown, kept: ReadonlyMap<string, { value: unknown; salt: string }>): unknown {
  if (isSealedValue(sealed)) {
    const found = kept.get(sealed.$personal);
    if (!found) return '[erased]';
    return commitmentOf(found.value, found.salt) === sealed.commitment ? found.value : '[altered]';
  }
  if (Array.isArray(sealed)) return sealed.map((item) => revealPersonalFields(item, kept));
  if (sealed && typeof sealed === 'object') return Object.fromEntries(Object.entries(sealed).map(([k, v]) => [k, revealPersonalFields(v, kept)]));
  return sealed;
}

/** The ids of the commitments in a sealed value. */
export function sealedIdsIn(sealed: unknown, found: string[] = []): string[] {
  if (isSealedValue(sealed)) found.push(sealed.$personal);
  else if (Array.isArray(sealed)) sealed.forEach((item) => sealedIdsIn(item, found));
  else if (sealed && typeof sealed === 'object') Object.values(sealed).forEach((v) => sealedIdsIn(v, found));
  return found;
}

/** A pseudonym for an erased person: random, so it says nothing about who it was. */
export function newPseudonym(): string {
  return `erased-${randomBytes(8).toString('hex')}`;
}

/**
 * A POSIX regular expression (Postgres `~`) matching `subject` as a whole word in text or in JSON text (as JSON
 * escapes it), and the replacement keeping what surrounds it. Word characters include `._@-`, so erasing
 * `ann` leaves `annual` and `ann.lee` alone.
 */
export function erasurePattern(subject: string): { pattern: string; replacement: (pseudonym: string) => string } {
  const inJson = JSON.stringify(subject).slice(1, -1);
  const escaped = inJson.replace(/[\\^$.*+?()[\]{}|-]/g, (ch) => `\\${ch}`);
  return { pattern: `(^|[^A-Za-z0-9_.@-])${escaped}($|[^A-Za-z0-9_.@-])`, replacement: (pseudonym) => `\\1${pseudonym}\\2` };
}

export const EXPIRED = '[expired]';

/**
 * A personal value past its retention, with its shape kept (readers still parse it): every person named and
 * every free text becomes `[expired]`; everything else stays. A plain string (a `requester` column) expires whole.
 */
export function expirePersonalFields(value: unknown, key?: string): unknown {
  if (key === undefined && typeof value === 'string') return EXPIRED;
  if (Array.isArray(value)) return value.map((item) => (key && FREE_TEXT_KEYS.has(key) && typeof item === 'string' ? EXPIRED : expirePersonalFields(item, key ?? '')));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'subject' && key && IDENTITY_OBJECT_KEYS.has(key) && typeof v === 'string' ? EXPIRED : expirePersonalFields(v, k)]),
    );
  }
  if (typeof value === 'string' && key && (PERSON_KEYS.has(key) || FREE_TEXT_KEYS.has(key))) return EXPIRED;
  return value;
}
