import { z } from 'zod';
import { IsoDateTime, ProjectId, ShortText } from './primitives';

/**
 * What a principal may do, each scoped to its projects where that applies (docs/security.md):
 * `submitter` submits and reads its projects' requests and reports their outcomes; `reviewer` reads the
 * requests assigned to it and answers its own assignments; `auditor` reads everything and changes nothing;
 * `admin` manages API keys and operations (it does not make a reviewer); `metrics` scrapes `/metrics`;
 * `emergency` may break the glass on its projects' requests (an immediate approval, reviewed after the fact).
 */
export const Role = z.enum(['submitter', 'reviewer', 'auditor', 'admin', 'metrics', 'emergency']);
export type Role = z.infer<typeof Role>;

/** A project a principal may act for, or `*` for all of them. */
export const ProjectScope = z.union([ProjectId, z.literal('*')]);

/** How a credential reached AGF. */
export const Channel = z.enum(['http', 'nats']);
export type Channel = z.infer<typeof Channel>;

/**
 * The verified identity behind an action, as events carry it to the audit trail: who (`subject`), vouched for
 * by whom (the token's `issuer`, or the `apiKeyId` of an AGF API key), and through which door.
 */
export const Actor = z.object({
  subject: ShortText,
  issuer: z.string().max(1024).optional(),
  apiKeyId: z.uuid().optional(),
  channel: Channel,
});
export type Actor = z.infer<typeof Actor>;

/** `POST /v1/api-keys` (admin). */
export const ApiKeyInput = z.strictObject({
  name: ShortText,
  subject: ShortText,
  roles: z.array(Role).min(1).max(Role.options.length),
  projects: z.array(ProjectScope).max(100).default([]),
  expiresAt: IsoDateTime.optional(),
});
export type ApiKeyInput = z.infer<typeof ApiKeyInput>;

/** An API key as `GET /v1/api-keys` lists it: never the key itself, which is shown once when issued. */
export const ApiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  subject: z.string(),
  roles: z.array(Role),
  projects: z.array(z.string()),
  expiresAt: IsoDateTime.nullable(),
  createdAt: IsoDateTime,
  createdBy: z.string(),
  revokedAt: IsoDateTime.nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

/** `201` answer of `POST /v1/api-keys`: the key (prefix `agf_`) is in no other answer, log or event. */
export const ApiKeyIssuedResponse = z.object({ id: z.uuid(), key: z.string().startsWith('agf_') });

/**
 * An API key was issued. Every service replays these from the start to keep its own replica of the keys, so
 * the event carries the SHA-256 of the key (from which the key cannot be recovered), never the key.
 */
export const AccessKeyIssued = z.object({
  keyId: z.uuid(),
  name: z.string(),
  subject: z.string(),
  roles: z.array(Role),
  projects: z.array(z.string()),
  keyHash: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: IsoDateTime.nullable(),
  issuedAt: IsoDateTime,
  issuedBy: Actor,
});
export type AccessKeyIssued = z.infer<typeof AccessKeyIssued>;

export const AccessKeyRevoked = z.object({
  keyId: z.uuid(),
  revokedAt: IsoDateTime,
  revokedBy: Actor,
});
export type AccessKeyRevoked = z.infer<typeof AccessKeyRevoked>;

/** Why a door was not opened: `unauthenticated` (401), `forbidden` (403), `not-visible` (404 for another project's object). */
export const RefusalCode = z.enum(['unauthenticated', 'forbidden', 'not-visible', 'not-bound-to-expert', 'separation-of-duties', 'requester-mismatch']);
export type RefusalCode = z.infer<typeof RefusalCode>;

/** A security decision that said no, for the audit trail. */
export const AccessRefused = z.object({
  service: z.string(),
  channel: Channel,
  code: RefusalCode,
  reason: z.string(),
  /** `POST /v1/deployment-requests` over HTTP; the subject over NATS. */
  target: z.string().max(1024),
  /** Who was refused, when the credential was valid (403, 404). */
  actor: Actor.optional(),
  /** The client's address over HTTP. */
  clientAddress: z.string().max(64).optional(),
  refusedAt: IsoDateTime,
});
export type AccessRefused = z.infer<typeof AccessRefused>;

/** Someone read the audit trail or a compliance record: reading evidence is itself evidence. */
export const AuditTrailRead = z.object({
  actor: Actor,
  /** The route read, with its query. */
  target: z.string().max(2048),
  readAt: IsoDateTime,
});
export type AuditTrailRead = z.infer<typeof AuditTrailRead>;
