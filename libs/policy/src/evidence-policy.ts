import { z } from 'zod';

/** A compliance rule pack: `soc2`, `iso27001`, `gdpr`, optionally pinned to a version (`soc2@1`). */
export const CompliancePackRef = z.string().regex(/^(soc2|iso27001|gdpr)(@[1-9][0-9]*)?$/, 'expected soc2, iso27001 or gdpr, optionally @<version>');
export const CompliancePacks = z.array(CompliancePackRef).max(10);

/**
 * `retention:` in agf-config.yaml (optional): how long each data class is kept after its change is decided
 * (docs/compliance.md). Personal data is pseudonymised when due; confidential and operational rows are removed.
 * The audit trail itself is evidence: kept `audit_evidence_days` (7 years by default), its personal fields
 * crypto-shredded when personal data is due.
 */
export const RetentionPolicy = z.strictObject({
  personal_days: z.number().int().min(1).max(36_500).default(90),
  confidential_days: z.number().int().min(1).max(36_500).default(365),
  operational_days: z.number().int().min(1).max(36_500).default(730),
  audit_evidence_days: z.number().int().min(1).max(36_500).default(2555),
  /** How often each service's retention job runs. */
  run_every_minutes: z.number().int().min(1).max(10_080).default(60),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;
