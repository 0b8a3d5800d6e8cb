import type { ExpertRecord, ExpertRegistryChanged } from '@agf/contracts';
import { ExpertRegistryReplica } from './expert-registry-replica';

const record = (id: string, principal: string[], extra: Partial<ExpertRecord> = {}): ExpertRecord => ({
  id,
  expertType: 'security',
  kind: 'human',
  specialties: [],
  capacity: 5,
  level: 'standard',
  runtime: 'builtin',
  principal,
  available: true,
  away: null,
  ...extra,
});
const upserted = (expert: ExpertRecord): ExpertRegistryChanged => ({ expertId: expert.id, change: 'upserted', expert, source: 'api', changedAt: '2026-06-01T00:00:00.000Z' });
const removed = (expertId: string): ExpertRegistryChanged => ({ expertId, change: 'removed', expert: null, source: 'api', changedAt: '2026-06-01T00:00:00.000Z' });

describe('ExpertRegistryReplica (applying changes)', () => {
  it('knows an expert once announced, with the last record winning', () => {
    const replica = new ExpertRegistryReplica();
    replica.apply(upserted(record('b', ['bob'])));
    replica.apply(upserted(record('a', ['alice'])));
    replica.apply(upserted(record('b', ['bob'], { available: false, email: 'bob@example.com' })));
    expect(replica.find('b')).toMatchObject({ available: false, email: 'bob@example.com' });
    expect(replica.all().map((e) => e.id)).toEqual(['a', 'b']);
    expect(replica.find('nobody')).toBeUndefined();
  });

  it('answers which experts a subject is bound to, following changes of principal', () => {
    const replica = new ExpertRegistryReplica();
    replica.apply(upserted(record('sec', ['alice', 'carol'])));
    replica.apply(upserted(record('arch', ['alice'])));
    expect(replica.boundTo('alice')).toEqual(['arch', 'sec']);
    expect(replica.boundTo('carol')).toEqual(['sec']);
    replica.apply(upserted(record('sec', ['carol'])));
    expect(replica.boundTo('alice')).toEqual(['arch']);
    expect(replica.boundTo('mallory')).toEqual([]);
  });

  it('forgets a removed expert and its bindings', () => {
    const replica = new ExpertRegistryReplica();
    replica.apply(upserted(record('sec', ['alice'])));
    replica.apply(removed('sec'));
    expect(replica.find('sec')).toBeUndefined();
    expect(replica.boundTo('alice')).toEqual([]);
    expect(replica.all()).toEqual([]);
    expect([replica.announced('sec'), replica.announced('other')]).toEqual([true, false]);
    // Removing what is not known changes nothing.
    replica.apply(removed('ghost'));
    expect(replica.all()).toEqual([]);
  });
});
