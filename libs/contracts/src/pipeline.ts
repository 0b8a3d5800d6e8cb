import { z } from 'zod';
import { Actor } from './access';
import { IsoDateTime, ProjectId } from './primitives';

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

/** `enforce`: AGF's decision gates the pipeline. `shadow`: AGF decides as usual, but every gate lets the deployment through. */
export const ProjectGateMode = z.enum(['enforce', 'shadow']);
export type ProjectGateMode = z.infer<typeof ProjectGateMode>;

/** `PUT /v1/projects/{projectId}/mode` (admin): overrides the project's `mode` in agf-config.yaml. */
export const ProjectModeInput = z.strictObject({ mode: ProjectGateMode });
export type ProjectModeInput = z.infer<typeof ProjectModeInput>;

/** A project's gate mode as CoE applies it, and where it comes from. */
export const ProjectModeView = z.object({
  projectId: ProjectId,
  mode: ProjectGateMode,
  /** `config`: agf-config.yaml (or the default, enforce); `api`: set by an admin, which outranks the config. */
  source: z.enum(['config', 'api']),
  changedAt: IsoDateTime.nullable(),
  changedBy: Actor.nullable(),
});
export type ProjectModeView = z.infer<typeof ProjectModeView>;

/** An admin switched a project between enforcing and shadow mode. Kept for ever on `AGF_REGISTRY`. */
export const ProjectModeChanged = z.object({
  projectId: ProjectId,
  mode: ProjectGateMode,
  previousMode: ProjectGateMode,
  actor: Actor,
  changedAt: IsoDateTime,
});
export type ProjectModeChanged = z.infer<typeof ProjectModeChanged>;
