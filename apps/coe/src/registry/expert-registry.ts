import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type GovernancePolicy, registeredExperts } from '@agf/policy';
import { POLICY } from '@agf/platform';
import { DataSource } from 'typeorm';

/**
 * Loads the expert registry of agf-config.yaml into the `coe` schema at start-up. Experts removed from the
 * configuration are deactivated, not deleted: their open assignments still need to resolve.
 */
@Injectable()
export class ExpertRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('expert-registry');

  constructor(
    private readonly dataSource: DataSource,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const experts = registeredExperts(this.policy).sort((a, b) => a.id.localeCompare(b.id));
    // Read first, then one statement per expert that differs, each its own transaction: a replica starting
    // next to busy ones neither waits behind the transactions holding review slots (an upsert locks its row
    // even when nothing changes) nor holds several expert rows at once (which deadlocked with them).
    const stored: { id: string; expert_type: string; kind: string; level: string; runtime: string; specialties: string[]; capacity: number; active: boolean }[] =
      await this.dataSource.query(`SELECT "id", "expert_type", "kind", "level", "runtime", "specialties", "capacity", "active" FROM "coe"."experts"`);
    const fingerprint = (x: { expertType: string; kind: string; level: string; runtime: string; specialties: string[]; capacity: number; active: boolean }) =>
      JSON.stringify([x.expertType, x.kind, x.level, x.runtime, x.specialties, x.capacity, x.active]);
    const current = new Map(stored.map((r) => [r.id, fingerprint({ ...r, expertType: r.expert_type })]));
    for (const e of experts) {
      if (current.get(e.id) === fingerprint({ ...e, kind: e.type, active: true })) continue;
      await this.dataSource.query(
        `INSERT INTO "coe"."experts" ("id", "expert_type", "kind", "level", "runtime", "specialties", "capacity", "active", "updated_at")
         VALUES ($1, $2, $3, $4, $5, $6, $7, true, now())
         ON CONFLICT ("id") DO UPDATE SET "expert_type" = EXCLUDED."expert_type", "kind" = EXCLUDED."kind", "level" = EXCLUDED."level",
           "runtime" = EXCLUDED."runtime", "specialties" = EXCLUDED."specialties", "capacity" = EXCLUDED."capacity", "active" = true, "updated_at" = now()
         WHERE ("coe"."experts"."expert_type", "coe"."experts"."kind", "coe"."experts"."level", "coe"."experts"."runtime", "coe"."experts"."specialties",
                "coe"."experts"."capacity", "coe"."experts"."active")
           IS DISTINCT FROM (EXCLUDED."expert_type", EXCLUDED."kind", EXCLUDED."level", EXCLUDED."runtime", EXCLUDED."specialties", EXCLUDED."capacity", true)`,
        [e.id, e.expertType, e.type, e.level, e.runtime, JSON.stringify(e.specialties), e.capacity],
      );
    }
    if ([...current.keys()].some((id) => !experts.some((e) => e.id === id))) {
      await this.dataSource.query(`UPDATE "coe"."experts" SET "active" = false WHERE "active" AND NOT ("id" = ANY($1::text[]))`, [experts.map((e) => e.id)]);
    }
    this.logger.log(`expert registry: ${experts.length} experts`);
  }
}
