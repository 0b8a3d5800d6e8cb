import { z } from 'zod';
import { Actor } from './access';
import { IsoDateTime, ShortText } from './primitives';

/** `POST /v1/privacy/erasure` (admin, compliance). */
export const ErasureInput = z.strictObject({ subject: ShortText });
export type ErasureInput = z.infer<typeof ErasureInput>;

/**
 * Compliance asks every service to pseudonymise a person in its own schema: each replaces `subject` by
 * `pseudonym` in every personal field (docs/compliance.md) and answers `privacy.erasure.applied`. The subject
 * travels here in clear because each service must find it; compliance never chains this event into the
 * audit trail (it chains `privacy.erasure.recorded` instead), and the stream keeps it for its retention only.
 */
export const ErasureRequested = z.object({
  erasureId: z.uuid(),
  subject: ShortText,
  pseudonym: z.string().regex(/^erased-[0-9a-f]{16}$/),
  requestedAt: IsoDateTime,
});
export type ErasureRequested = z.infer<typeof ErasureRequested>;

/** The erasure as the audit trail keeps it: who asked, and a salted commitment to the subject, never the subject. */
export const ErasureRecorded = z.object({
  erasureId: z.uuid(),
  /** HMAC-SHA256 of the subject under compliance's own key: who already knows the name can check it, nobody can read it. */
  subjectCommitment: z.string().regex(/^[0-9a-f]{64}$/),
  pseudonym: z.string().regex(/^erased-[0-9a-f]{16}$/),
  /** Personal values of the audit trail removed from under their commitments. */
  auditValuesRemoved: z.number().int().min(0),
  requestedBy: Actor,
  requestedAt: IsoDateTime,
});
export type ErasureRecorded = z.infer<typeof ErasureRecorded>;

/** One service has pseudonymised the person in its schema. */
export const ErasureApplied = z.object({
  erasureId: z.uuid(),
  service: z.string().min(1).max(64),
  /** `schema.table.column` → rows changed. */
  changed: z.record(z.string(), z.number().int().min(0)),
  appliedAt: IsoDateTime,
});
export type ErasureApplied = z.infer<typeof ErasureApplied>;

/** What a retention run removed (or pseudonymised), per `schema.table` and data class. */
export const RetentionApplied = z.object({
  service: z.string().min(1).max(64),
  removed: z.record(z.string(), z.number().int().min(0)),
  cutoffs: z.record(z.string(), IsoDateTime),
  appliedAt: IsoDateTime,
});
export type RetentionApplied = z.infer<typeof RetentionApplied>;

/** Asks every service to apply retention now (as its schedule would), each answering `privacy.retention.applied`. */
export const RetentionRequested = z.object({ requestedAt: IsoDateTime });
export type RetentionRequested = z.infer<typeof RetentionRequested>;
