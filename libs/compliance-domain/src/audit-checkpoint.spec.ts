import { generateKeyPairSync } from 'node:crypto';
import { chainEntry, type ChainedAuditEntry, GENESIS_HASH } from './audit-chain';
import { signCheckpoint, verifyChainWithCheckpoints } from './audit-checkpoint';

function aChain(length: number): ChainedAuditEntry[] {
  const entries: ChainedAuditEntry[] = [];
  let previous = GENESIS_HASH;
  for (let sequence = 1; sequence <= length; sequence += 1) {
    const entry = chainEntry(
      { sequence, eventId: `e${sequence}`, eventType: 'io.agf.test.v1', subject: 's', correlationId: null, occurredAt: 't', recordedAt: 't', payload: { n: sequence } },
      previous,
    );
    entries.push(entry);
    previous = entry.entryHash;
  }
  return entries;
}

const pages = (entries: ChainedAuditEntry[]) => async (after: number, limit: number) => entries.filter((e) => e.sequence > after).slice(0, limit);
const headOf = (entries: ChainedAuditEntry[]) => ({ sequence: entries.at(-1)!.sequence, entryHash: entries.at(-1)!.entryHash });

describe('audit checkpoints', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const chain = aChain(10);
  const at = (sequence: number) => ({ name: `cp-${sequence}`, signed: signCheckpoint(chain[0]!.entryHash, { sequence, entryHash: chain[sequence - 1]!.entryHash }, privateKey) });

  it('holds when every checkpoint is signed by a trusted key and the chain keeps its entries', async () => {
    const result = await verifyChainWithCheckpoints(pages(chain), headOf(chain), [at(8), at(4)], [publicKey], 3);
    expect(result).toMatchObject({ valid: true, entries: 10, checkpoints: { verified: 2, latest: { sequence: 8 } } });
  });

  it('refuses a checkpoint whose content was changed after signing', async () => {
    const forged = at(4);
    forged.signed.checkpoint.entryHash = 'f'.repeat(64);
    const result = await verifyChainWithCheckpoints(pages(chain), headOf(chain), [forged], [publicKey]);
    expect(result.valid).toBe(false);
    expect(result.checkpoints.firstBadCheckpoint).toMatchObject({ sequence: 4, name: 'cp-4', reason: expect.stringMatching(/altered or forged/) });
  });

  it("refuses when none of the checkpoints is of this chain (its first entry rewritten, or another database's)", async () => {
    const other = aChain(3).map((e, i) => (i === 0 ? chainEntry({ ...e, payload: { n: 'other' } }, GENESIS_HASH) : e));
    const result = await verifyChainWithCheckpoints(pages(other), headOf(other), [at(2)], [publicKey]);
    expect(result.valid).toBe(false);
    expect(result.checkpoints.firstBadCheckpoint?.reason).toMatch(/none of the 1 checkpoints is of this chain/);
  });

  it('refuses a checkpoint signed by a key it was not told to trust', async () => {
    const other = generateKeyPairSync('ed25519');
    const result = await verifyChainWithCheckpoints(pages(chain), headOf(chain), [at(4)], [other.publicKey]);
    expect(result.checkpoints.firstBadCheckpoint?.reason).toMatch(/not among the trusted/);
  });

  it('names the first checkpoint past a consistent rewrite, and one beyond a shortened chain', async () => {
    const rewritten = aChain(10).map((e) => e);
    let previous = rewritten[4]!.entryHash;
    for (let i = 5; i < 10; i += 1) {
      const entry = chainEntry({ ...rewritten[i]!, payload: i === 5 ? { n: 'forged' } : rewritten[i]!.payload }, previous);
      rewritten[i] = entry;
      previous = entry.entryHash;
    }
    const result = await verifyChainWithCheckpoints(pages(rewritten), headOf(rewritten), [at(2), at(6), at(9)], [publicKey]);
    expect(result).toMatchObject({ valid: false, checkpoints: { verified: 1, firstBadCheckpoint: { sequence: 6 } } });

    const shortened = chain.slice(0, 7);
    const cut = await verifyChainWithCheckpoints(pages(shortened), headOf(shortened), [at(2), at(9)], [publicKey]);
    expect(cut.checkpoints.firstBadCheckpoint).toMatchObject({ sequence: 9, reason: expect.stringMatching(/removed/) });
  });
});
