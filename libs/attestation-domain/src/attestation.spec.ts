import { generateKeyPairSync } from 'node:crypto';
import { aDecision } from '@agf/contracts/testing';
import { decisionStatement, type DsseEnvelope, pae, publicKeyEntry, signStatement, verifyAttestation } from './index';

const key = generateKeyPairSync('ed25519').privateKey;
const otherKey = generateKeyPairSync('ed25519').privateKey;
const trusted = [publicKeyEntry(key, 'current')];
const digest = `sha256:${'ab'.repeat(32)}`;

function attestation(overrides: Parameters<typeof aDecision>[0] = { requestId: '00000000-0000-4000-8000-000000000001', projectId: 'demo' }, signer = key): DsseEnvelope {
  const decision = aDecision({ componentName: 'api', version: '1.0.0', outcome: 'PROCEED_WITH_MONITORING', approved: true, ...overrides });
  return signStatement(decisionStatement({ decision, digest: { sha256: 'ab'.repeat(32) } }), signer);
}

describe('decision attestations', () => {
  it('verify for the attested artifact and digest', () => {
    const result = verifyAttestation(attestation(), trusted, { name: 'api@1.0.0', digest });
    expect(result).toMatchObject({ valid: true, keyid: trusted[0]!.keyid });
    expect(result.valid && result.statement.predicate.requestId).toBe('00000000-0000-4000-8000-000000000001');
  });

  it('uses DSSE pre-authentication encoding', () => {
    expect(pae('t', Buffer.from('ab')).toString()).toBe('DSSEv1 1 t 2 ab');
  });

  it('fail when any byte of the payload changed', () => {
    const envelope = attestation();
    const bytes = Buffer.from(envelope.payload, 'base64');
    for (const index of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(verifyAttestation({ ...envelope, payload: tampered.toString('base64') }, trusted, { name: 'api@1.0.0' })).toMatchObject({ valid: false, reason: expect.stringContaining('signature') });
    }
  });

  it('fail when signed by another key', () => {
    expect(verifyAttestation(attestation(undefined, otherKey), trusted, { name: 'api@1.0.0' })).toMatchObject({ valid: false });
    // Even under the trusted key's id.
    const forged = attestation(undefined, otherKey);
    forged.signatures[0]!.keyid = trusted[0]!.keyid;
    expect(verifyAttestation(forged, trusted, { name: 'api@1.0.0' })).toMatchObject({ valid: false });
  });

  it('fail for another artifact, version or digest', () => {
    expect(verifyAttestation(attestation(), trusted, { name: 'web@1.0.0' })).toMatchObject({ valid: false, reason: expect.stringContaining('not web@1.0.0') });
    expect(verifyAttestation(attestation(), trusted, { name: 'api@1.0.1' })).toMatchObject({ valid: false });
    expect(verifyAttestation(attestation(), trusted, { name: 'api@1.0.0', digest: `sha256:${'cd'.repeat(32)}` })).toMatchObject({ valid: false });
  });

  it('fail for a blocked decision', () => {
    const blocked = attestation({ requestId: '00000000-0000-4000-8000-000000000002', projectId: 'demo', outcome: 'BLOCK_WITH_FEEDBACK', approved: false });
    expect(verifyAttestation(blocked, trusted, { name: 'api@1.0.0' })).toMatchObject({ valid: false, reason: expect.stringContaining('BLOCK_WITH_FEEDBACK') });
  });

  it('refuse what is not an envelope', () => {
    expect(verifyAttestation({ hello: 1 }, trusted, { name: 'api@1.0.0' })).toMatchObject({ valid: false });
  });
});
