import { z } from 'zod';
import { ExpertType, PROJECT_ID_PATTERN, Role, TriggerCondition } from '@agf/contracts';
import { NotificationsPolicy } from './notifications-policy';
import { CompliancePacks, RetentionPolicy } from './evidence-policy';
import { ProjectsPolicy } from './projects-policy';
import { RolloutPolicy } from './rollout-policy';

const Fraction = z.number().min(0).max(1);
const PositiveHours = z.number().positive();

export const ExpertConfig = z.strictObject({
  id: z.string().regex(PROJECT_ID_PATTERN, 'must match [A-Za-z0-9_-]{1,128}'),
  /** PRD wording: `automated` or `human`. */
  type: z.enum(['automated', 'human']),
  specialties: z.array(z.string()).default([]),
  /** Concurrent open reviews this expert takes. */
  capacity: z.number().int().positive().default(5),
  /** `strategic` reviewers are added on tier 2; `standard` ones from tier 1. */
  level: z.enum(['standard', 'strategic']).default('standard'),
  /** Automated experts only: `builtin` validators answer at once inside CoE; `external` ones over NATS. */
  runtime: z.enum(['builtin', 'external']).default('builtin'),
  name: z.string().optional(),
  /**
   * The subject(s) of the principals allowed to answer for this expert (an OIDC `sub` or an API key's subject).
   * An expert with none can only be answered for by the CoE itself (a `builtin` validator).
   */
  principal: z
    .union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(100)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .default([]),
  /** Where notifications `to: assignee` reach this expert by email and by SMS. */
  email: z.email().optional(),
  phone: z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'expected an E.164 number, e.g. +4915112345678').optional(),
});
export type ExpertConfig = z.infer<typeof ExpertConfig>;

export const ComplianceRule = z.strictObject({
  framework: z.string().min(1),
  control: z.string().min(1),
  description: z.string().default(''),
  /** When the rule applies: `always`, `personal_data` (touchesPersonalData), or `scope` (the framework is in complianceScopes). */
  applies_when: z.array(z.enum(['always', 'personal_data', 'scope'])).min(1),
  /**
   * What the rule checks:
   * - `independent_approval`: an approving review by someone other than the requester (SOC2 CC8.1);
   * - `change_record`: the request carries what change management needs: version, changes, a risk assessment, a rollback path (ISO 27001 A.8.32);
   * - `reviewer_of_type`: an approving review by an expert of `expert_type` (GDPR: a compliance reviewer).
   */
  requires: z.enum(['independent_approval', 'change_record', 'reviewer_of_type']),
  expert_type: ExpertType.optional(),
});
export type ComplianceRule = z.infer<typeof ComplianceRule>;

/**
 * How OIDC tokens map to AGF principals: which claims hold the roles and projects, and which groups grant roles.
 * Infrastructure (issuer, audience) comes from the environment (`AGF_OIDC_ISSUER`, `AGF_OIDC_AUDIENCE`).
 */
export const AuthPolicy = z.strictObject({
  /** A string array of AGF roles (`submitter`, `reviewer`, `auditor`, `admin`, `metrics`). */
  roles_claim: z.string().min(1).default('agf_roles'),
  /** A string array of project ids, `"*"` for all. */
  projects_claim: z.string().min(1).default('agf_projects'),
  /** A string array of the identity provider's groups, mapped to roles by `group_roles`. */
  groups_claim: z.string().min(1).default('groups'),
  group_roles: z.record(z.string().min(1), z.array(Role)).default({}),
  /** Tolerated difference between the identity provider's clock and ours, for `exp` and `nbf`. */
  clock_skew_seconds: z.number().int().min(0).max(300).default(30),
});
export type AuthPolicy = z.infer<typeof AuthPolicy>;

/**
 * Who decides when the reviews cannot: the chain of expert types a request escalates to, each step with an SLA
 * after which it moves one up (the top step is re-notified, never dropped).
 */
export const EscalationPolicy = z.strictObject({
  chain: z.array(ExpertType).min(1).default(['human_oversight']),
  /** Each step's SLA: how long the assigned person has to decide before the request moves up the chain. */
  sla_hours: PositiveHours.default(4),
  /** SLA of the mandatory review after a break-glass approval. */
  break_glass_review_sla_hours: PositiveHours.default(24),
  /** An expert type the tier needs but nobody can take falls back to these types, in order, before escalating. */
  fallback: z.partialRecord(ExpertType, z.array(ExpertType)).default({}),
});
export type EscalationPolicy = z.infer<typeof EscalationPolicy>;

export const GovernancePolicy = z.strictObject({
  framework: z.strictObject({ name: z.string(), version: z.string() }).optional(),
  governance: z.strictObject({
    enabled: z.boolean(),
    trigger_conditions: z.array(TriggerCondition),
    tier_thresholds: z
      .strictObject({ tier_0_max_risk: Fraction, tier_1_max_risk: Fraction, tier_2_max_risk: Fraction })
      .refine((t) => t.tier_0_max_risk <= t.tier_1_max_risk && t.tier_1_max_risk <= t.tier_2_max_risk, {
        message: 'expected tier_0_max_risk <= tier_1_max_risk <= tier_2_max_risk',
      }),
    sla_hours: z.strictObject({ tier_0: PositiveHours, tier_1: PositiveHours, tier_2: PositiveHours }),
    /** Decisions with a lower confidence go to a human (ESCALATE_TO_HUMAN). */
    min_confidence: Fraction.default(0.5),
    /** Weights of the four analyzers in the overall risk score; they need not sum to 1 (they are normalised). */
    risk_weights: z
      .strictObject({
        security: Fraction,
        complexity: Fraction,
        impact: Fraction,
        historical: Fraction,
        /** The learned defect model's weight next to the four (normalised) analyzers; used only when a model scored the request. */
        model: Fraction.optional(),
      })
      .default({ security: 0.35, complexity: 0.2, impact: 0.25, historical: 0.2 }),
  }),
  experts: z.partialRecord(ExpertType, z.array(ExpertConfig)),
  monitoring: z.strictObject({
    dashboards: z.record(z.string(), z.boolean()).optional(),
    alerts: z.strictObject({
      critical_threshold: Fraction,
      warning_threshold: Fraction,
      notification_channels: z.array(z.string()).default([]),
    }),
  }),
  /** `packs`: the rule packs evidence reports judge by (all when unset); a project may choose its own (`projects.<id>.compliance_packs`). */
  compliance: z.strictObject({ rules: z.array(ComplianceRule), packs: CompliancePacks.optional() }).default({ rules: [] }),
  auth: AuthPolicy.default(AuthPolicy.parse({})),
  escalation: EscalationPolicy.default(EscalationPolicy.parse({})),
  notifications: NotificationsPolicy.optional(),
  projects: ProjectsPolicy.optional(),
  rollout: RolloutPolicy.optional(),
  retention: RetentionPolicy.optional(),
});
export type GovernancePolicy = z.infer<typeof GovernancePolicy>;
/** The policy as written in YAML, before defaults are filled in. */
export type GovernancePolicyInput = z.input<typeof GovernancePolicy>;

/** A flat view of the registry: one entry per expert with its expert type. */
export interface RegisteredExpert extends ExpertConfig {
  expertType: ExpertType;
}

export function registeredExperts(policy: GovernancePolicy): RegisteredExpert[] {
  return Object.entries(policy.experts).flatMap(([expertType, experts]) =>
    (experts ?? []).map((expert) => ({ ...expert, expertType: expertType as ExpertType })),
  );
}
