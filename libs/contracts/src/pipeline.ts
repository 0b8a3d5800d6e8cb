import { z } from 'zod';

/** `GET /v1/deployment-requests/{id}/attestation`: a DSSE envelope around an in-toto Statement v1 (docs/attestations.md). */
export const AttestationEnvelope = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })).min(1),
});
export type AttestationEnvelope = z.infer<typeof AttestationEnvelope>;

/** `GET /v1/attestation-keys`: the Ed25519 public keys attestations verify against, the current one first. */
export const AttestationKeyList = z.object({
  keys: z.array(z.object({ keyid: z.string(), algorithm: z.literal('ed25519'), publicKeyPem: z.string(), status: z.enum(['current', 'previous']) })),
});
export type AttestationKeyList = z.infer<typeof AttestationKeyList>;

/** The `data` of one Server-Sent Event of `GET /v1/deployment-requests/{id}/events`: one step of the request's story. */
export const RequestStoryEvent = z.object({
  seq: z.number().int().positive(),
  type: z.string(),
  recordedAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type RequestStoryEvent = z.infer<typeof RequestStoryEvent>;
