import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Actor } from '@agf/contracts';
import { type Transaction, TransactionalPublisher } from '@agf/messaging';
import { type GovernancePolicy, type RegisteredExpert, registeredExperts } from '@agf/policy';
import { POLICY } from '@agf/platform';
import { DataSource } from 'typeorm';
import { ExpertHandOver } from './expert-hand-over';
import { type ExpertDefinition, recordOf, type RegistrySource, registryRepository as registry, type StoredExpert } from './registry.repository';

/** An expert of agf-config.yaml as the registry stores it. */
export function definitionOf(expert: RegisteredExpert): ExpertDefinition {
  return {
    expertType: expert.expertType,
    kind: expert.type,
    ...(expert.name !== undefined ? { name: expert.name } : {}),
    specialties: expert.specialties,
    capacity: expert.capacity,
    level: expert.level,
    runtime: expert.runtime,
    principal: expert.principal,
    ...(expert.email !== undefined ? { email: expert.email } : {}),
    ...(expert.phone !== undefined ? { phone: expert.phone } : {}),
  };
}

/** The fingerprint of a config entry: the registry re-seeds an expert only when its entry changed. */
export function configHashOf(definition: ExpertDefinition): string {
  const d = definition;
  const canonical = JSON.stringify([d.expertType, d.kind, d.level, d.runtime, d.specialties, d.capacity, d.name ?? null, d.principal, d.email ?? null, d.phone ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Announces a change of the registry in the transaction that made it (`registry.expert.changed`). */
export function emitRegistryChange(tx: Pick<Transaction, 'emit'>, change: { entry: StoredExpert; removed: boolean; source: RegistrySource; actor?: Actor }): void {
  const { entry } = change;
  tx.emit({
    name: 'registry.expert.changed',
    correlationId: entry.id,
    subjectToken: entry.id,
    data: {
      expertId: entry.id,
      change: change.removed ? 'removed' : 'upserted',
      expert: change.removed ? null : recordOf(entry),
      source: change.source,
      ...(change.actor ? { actor: change.actor } : {}),
      changedAt: entry.updatedAt,
    },
  });
}

/**
 * Seeds the expert registry from agf-config.yaml at start-up. An expert is written (and announced with
 * `registry.expert.changed`, source `config`, in the same transaction) only when its config entry changed since
 * it was last seeded; so replicas starting at once announce each real change once, and a change made through
 * the API (`/v1/experts`) stands until the config entry itself changes. Experts removed from the configuration
 * are deactivated, not deleted (their history stays), and their pending reviews handed to others; experts
 * added through the API are left alone. Availability (`available`, away periods) is never the config's: only the API sets it.
 */
@Injectable()
export class ExpertRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('expert-registry');

  constructor(
    private readonly dataSource: DataSource,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly publisher: TransactionalPublisher,
    private readonly handOver: ExpertHandOver,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const experts = registeredExperts(this.policy).sort((a, b) => a.id.localeCompare(b.id));
    // Read first, then one statement per expert that differs, each its own transaction: a replica starting
    // next to busy ones neither waits behind the transactions holding review slots (an upsert locks its row
    // even when nothing changes) nor holds several expert rows at once (which deadlocked with them).
    const stored = new Map((await registry.all(this.dataSource)).map((row) => [row.id, row]));
    let changed = 0;
    for (const expert of experts) {
      const definition = definitionOf(expert);
      const hash = configHashOf(definition);
      const row = stored.get(expert.id);
      if (row && row.configHash === hash && (row.active || row.source === 'api')) continue;
      const seeded = await this.publisher.transaction(async (tx) => {
        const entry = await registry.seed(tx.manager, expert.id, definition, hash);
        if (entry) emitRegistryChange(tx, { entry, removed: false, source: 'config' });
        return entry;
      });
      if (seeded) changed += 1;
    }
    const configured = new Set(experts.map((e) => e.id));
    for (const row of stored.values()) {
      if (configured.has(row.id) || !row.active || row.source !== 'config') continue;
      const removed = await this.publisher.transaction(async (tx) => {
        // Its pending reviews go to others first (requests are locked before expert rows, as everywhere).
        await this.handOver.handOver(tx, row.id, 'removed-from-registry');
        const entry = await registry.unseed(tx.manager, row.id);
        if (entry) emitRegistryChange(tx, { entry, removed: true, source: 'config' });
        return entry;
      });
      if (removed) changed += 1;
    }
    this.logger.log(`expert registry: ${experts.length} experts in the config, ${changed} changed`);
  }
}
