import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { RetentionApplied } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { POLICY } from '@agf/platform';
import type { GovernancePolicy } from '@agf/policy';

const DAY_MS = 86_400_000;

/**
 * Applies `retention:` to compliance's schema on its schedule: personal values beside the audit chain older
 * than `personal_days` are removed (their commitments stay, so the chain still verifies, and they read as
 * `[erased]`). Each run reports what it removed as `privacy.retention.applied`, which is chained. The other
 * tables of every schema, compliance's included, are each service's own job (`PrivacyRetentionJob`, libs/platform).
 */
@Injectable()
export class RetentionJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publisher: TransactionalPublisher,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
  ) {}

  onApplicationBootstrap(): void {
    const retention = this.policy.retention;
    if (!retention) {
      this.logger.warn('no retention: configured in agf-config.yaml: personal data is kept until erased');
      return;
    }
    this.timer = setInterval(() => void this.run().catch((error: Error) => this.logger.warn(`retention run failed (${error.message}); next run on schedule`)), retention.run_every_minutes * 60_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async run(now = new Date()): Promise<RetentionApplied | { configured: false }> {
    const retention = this.policy.retention;
    if (!retention) return { configured: false };
    const personalCutoff = new Date(now.getTime() - retention.personal_days * DAY_MS).toISOString();
    return this.publisher.transaction(async (tx) => {
      const rows: unknown = await tx.manager.query(
        `WITH "gone" AS (DELETE FROM "compliance"."personal_values" WHERE "created_at" < $1 RETURNING 1) SELECT count(*)::int AS "n" FROM "gone"`,
        [personalCutoff],
      );
      const removed = { 'compliance.personal_values (personal)': (rows as Array<{ n: number }>)[0]?.n ?? 0 };
      const applied: RetentionApplied = { service: 'compliance', removed, cutoffs: { personal: personalCutoff }, appliedAt: now.toISOString() };
      tx.emit({ name: 'privacy.retention.applied', correlationId: `retention-${now.toISOString()}`, data: applied });
      return applied;
    });
  }

  /** A run here now, and one in every service (each answers `privacy.retention.applied` for its own schema). */
  async runEverywhere(now = new Date()): Promise<RetentionApplied | { configured: false }> {
    const here = await this.run(now);
    if ('configured' in here) return here;
    await this.publisher.transaction(async (tx) => {
      tx.emit({ name: 'privacy.retention.requested', correlationId: `retention-${now.toISOString()}`, data: { requestedAt: now.toISOString() } });
    });
    return here;
  }
}
