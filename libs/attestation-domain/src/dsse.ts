import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { DECISION_PREDICATE_TYPE, type DecisionStatement, parseDigest, STATEMENT_TYPE } from './statement';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse): the payload base64, its signatures over PAE. */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

/** A public key as `GET /v1/attestation-keys` serves it. */
export interface AttestationPublicKey {
  keyid: string;
  algorithm: 'ed25519';
  publicKeyPem: string;
  /** `current` signs new attestations; `previous` ones still verify older ones (rotation). */
  status: 'current' | 'previous';
}

/** DSSE's pre-authentication encoding: what is actually signed, so the payload type cannot be swapped. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** Key ids already computed: deriving and exporting the public key cost intake as much as the signature. */
const KEY_IDS = new WeakMap<KeyObject, string>();

/** A key's id: the SHA-256 of its public key (SPKI DER), hex. Stable for a key, whoever computes it. */
export function keyIdOf(key: KeyObject): string {
  let keyId = KEY_IDS.get(key);
  if (keyId === undefined) {
    const publicKey = key.type === 'private' ? createPublicKey(key) : key;
    keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    KEY_IDS.set(key, keyId);
  }
  return keyId;
}

export function ed25519PrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`attestation key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

export function publicKeyEntry(key: KeyObject, status: AttestationPublicKey['status']): AttestationPublicKey {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`attestation key must be Ed25519, not ${publicKey.asymmetricKeyType ?? 'unknown'}`);
  return { keyid: keyIdOf(publicKey), algorithm: 'ed25519', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), status };
}

export function signStatement(statement: DecisionStatement, privateKey: KeyObject): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = sign(null, pae(IN_TOTO_PAYLOAD_TYPE, payload), privateKey);
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: keyIdOf(privateKey), sig: sig.toString('base64') }] };
}

export interface ExpectedArtifact {
  /** `component@version`. */
  name: string;
  /** `sha256:…`: when given, the subject must carry this digest. */
  digest?: string;
}

export type VerifyResult = { valid: true; keyid: string; statement: DecisionStatement } | { valid: false; reason: string; statement?: DecisionStatement };

/**
 * Checks an envelope as a deploy step must: a signature by one of `keys` over exactly these bytes, an AGF
 * decision statement, a subject that is the expected artifact (and digest), and an outcome that lets it proceed.
 */
export function verifyAttestation(envelope: unknown, keys: readonly AttestationPublicKey[], expected: ExpectedArtifact): VerifyResult {
  if (!isEnvelope(envelope)) return { valid: false, reason: 'not a DSSE envelope (payloadType, payload, signatures)' };
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { valid: false, reason: `unexpected payload type ${envelope.payloadType}` };
  const payload = Buffer.from(envelope.payload, 'base64');
  if (payload.toString('base64') !== envelope.payload.replace(/\s/g, '')) return { valid: false, reason: 'payload is not valid base64' };
  const signed = pae(envelope.payloadType, payload);
  const byId = new Map(keys.map((k) => [k.keyid, k]));
  let keyid: string | undefined;
  for (const signature of envelope.signatures) {
    const key = byId.get(signature.keyid);
    if (!key) continue;
    try {
      if (verify(null, signed, createPublicKey(key.publicKeyPem), Buffer.from(signature.sig, 'base64'))) {
        keyid = key.keyid;
        break;
      }
    } catch {
      // A malformed signature or key is just not a valid one.
    }
  }
  if (!keyid) return { valid: false, reason: 'no valid signature by a trusted AGF attestation key' };
  let statement: DecisionStatement;
  try {
    statement = JSON.parse(payload.toString('utf8')) as DecisionStatement;
  } catch {
    return { valid: false, reason: 'payload is not JSON' };
  }
  if (statement._type !== STATEMENT_TYPE || statement.predicateType !== DECISION_PREDICATE_TYPE || !Array.isArray(statement.subject)) {
    return { valid: false, reason: 'not an AGF deployment decision statement', statement };
  }
  const subject = statement.subject.find((s) => s.name === expected.name);
  if (!subject) return { valid: false, reason: `attestation is for ${statement.subject.map((s) => s.name).join(', ')}, not ${expected.name}`, statement };
  if (expected.digest !== undefined) {
    const wanted = parseDigest(expected.digest);
    if (!wanted) return { valid: false, reason: `not a digest: ${expected.digest}`, statement };
    const [algorithm, hex] = Object.entries(wanted)[0]!;
    if (subject.digest?.[algorithm] !== hex) return { valid: false, reason: `artifact digest ${expected.digest} is not the attested one`, statement };
  }
  if (!statement.predicate?.approved) return { valid: false, reason: `decision was ${statement.predicate?.outcome ?? 'unknown'}: the artifact may not be deployed`, statement };
  return { valid: true, keyid, statement };
}

function isEnvelope(value: unknown): value is DsseEnvelope {
  const v = value as DsseEnvelope | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.payloadType === 'string' &&
    typeof v.payload === 'string' &&
    Array.isArray(v.signatures) &&
    v.signatures.every((s) => typeof s?.keyid === 'string' && typeof s?.sig === 'string')
  );
}
