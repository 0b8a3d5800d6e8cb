import type { DeploymentRequest, ExpertType, FiredTrigger, TriggerCondition } from '@agf/contracts';
import { classifySecurityChanges, type SecurityArea } from '@agf/risk-domain';
import type { AssignmentRole, ExpertCandidate } from './types';

/**
 * Routing: which expert of the registry takes a review. A request's *areas* (what it touches, in the words
 * experts' `specialties` use) are derived from its changed paths, its risk indicators and the triggers that
 * fired. Among the experts who may take the review (active, available, not away, below capacity, not the
 * requester), the one whose specialties overlap most with the areas wins; then the least loaded (open reviews
 * relative to capacity, then open reviews); then the smallest id, so that the same inputs give the same pick.
 */

/** What a security-relevant change path stands for in specialties. */
const SECURITY_AREA_SPECIALTIES: Record<SecurityArea, readonly string[]> = {
  authentication: ['access_control', 'authentication'],
  authorization: ['access_control', 'authorization'],
  crypto: ['cryptography'],
  secrets: ['secret_detection'],
  dependencies: ['dependencies', 'vulnerability_scan'],
};

/** Change paths outside security that call for a specialty of their own. */
const PATH_SPECIALTIES: ReadonlyArray<[RegExp, readonly string[]]> = [
  [/\b(migrations?|schema|sql|database|db)\b|\.sql$/i, ['database']],
  [/\b(terraform|helm|k8s|kubernetes|infra(structure)?|dockerfile|docker-compose)\b|\.tf$/i, ['infrastructure']],
  [/\b(openapi|swagger|graphql|proto(buf)?|api)\b|\.proto$/i, ['api_design']],
  [/\b(cache|caching|perf(ormance)?|benchmarks?|load[-_ ]?tests?)\b/i, ['performance']],
];

/** What a fired trigger asks for, beyond what the paths and indicators already say. */
const TRIGGER_SPECIALTIES: Partial<Record<TriggerCondition, readonly string[]>> = {
  COMPLIANCE_REQUIRED: ['compliance', 'policy_check'],
  CROSS_PROJECT_IMPACT: ['cross_project'],
  DOMINO_COMPLETE: ['design_review'],
  CRITICAL_DEPLOYMENT: ['release_approval', 'reliability'],
};

/** A specialty as compared: lower case, words joined by `_` ("Access Control", "access-control" → access_control). */
export function normaliseSpecialty(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * The areas a request touches, sorted and without duplicates:
 * - changed paths: authentication/authorization → access_control (+ authentication/authorization), crypto →
 *   cryptography, secrets → secret_detection, dependency manifests → dependencies + vulnerability_scan,
 *   migrations/SQL → database, terraform/helm/k8s/Docker → infrastructure, OpenAPI/GraphQL/proto → api_design,
 *   cache/perf/benchmarks → performance;
 * - risk indicators: `securitySensitive` → access_control + secret_detection; known vulnerabilities →
 *   vulnerability_scan; `touchesPersonalData` → gdpr + privacy; each `complianceScopes` entry as itself
 *   (SOC2 → soc2); `userImpact` high or critical → reliability; `testsPassed: false` → testing;
 * - triggers: COMPLIANCE_REQUIRED → compliance + policy_check, CROSS_PROJECT_IMPACT → cross_project,
 *   DOMINO_COMPLETE → design_review, CRITICAL_DEPLOYMENT → release_approval + reliability.
 */
export function requestAreas(request: Pick<DeploymentRequest, 'changes' | 'riskIndicators'>, triggers: readonly Pick<FiredTrigger, 'condition'>[] = []): string[] {
  const areas = new Set<string>();
  const add = (items: readonly string[]) => items.forEach((item) => areas.add(item));
  for (const match of classifySecurityChanges(request.changes)) add(SECURITY_AREA_SPECIALTIES[match.area]);
  for (const change of request.changes) for (const [pattern, items] of PATH_SPECIALTIES) if (pattern.test(change)) add(items);
  const indicators = request.riskIndicators;
  if (indicators.securitySensitive) add(['access_control', 'secret_detection']);
  if (Object.values(indicators.vulnerabilities ?? {}).some((count) => (count ?? 0) > 0)) add(['vulnerability_scan']);
  if (indicators.touchesPersonalData) add(['gdpr', 'privacy']);
  for (const scope of indicators.complianceScopes ?? []) {
    const area = normaliseSpecialty(scope);
    if (area) areas.add(area);
  }
  if (indicators.userImpact === 'high' || indicators.userImpact === 'critical') add(['reliability']);
  if (indicators.testsPassed === false) add(['testing']);
  for (const trigger of triggers) add(TRIGGER_SPECIALTIES[trigger.condition] ?? []);
  return [...areas].sort();
}

/** Whether an expert of this kind and level may take a review in this role. */
export function fitsRole(expert: Pick<ExpertCandidate, 'type' | 'level'>, role: AssignmentRole): boolean {
  if (role === 'validator') return expert.type === 'automated';
  if (role === 'standard') return expert.type === 'human' && expert.level === 'standard';
  if (role === 'strategic') return expert.type === 'human' && expert.level === 'strategic';
  // Oversight is a person, of either level.
  return expert.type === 'human';
}

/** Takes new work now: not marked unavailable, and not inside an away period (`from` ≤ now < `until`). */
export function isAvailableAt(expert: Pick<ExpertCandidate, 'available' | 'away'>, now: Date): boolean {
  if (expert.available === false) return false;
  if (!expert.away) return true;
  const from = Date.parse(expert.away.from);
  const until = Date.parse(expert.away.until);
  return !(now.getTime() >= from && now.getTime() < until);
}

/** The requester may be named as the expert, or be a subject bound to answer for it: either way, not their own reviewer. */
export function isRequester(expert: Pick<ExpertCandidate, 'id' | 'principal'>, requester: string): boolean {
  return expert.id === requester || expert.principal.includes(requester);
}

/** How many of the request's areas the expert's specialties cover. */
export function specialtyOverlap(expert: Pick<ExpertCandidate, 'specialties'>, areas: ReadonlySet<string>): number {
  return new Set(expert.specialties.map(normaliseSpecialty).filter((s) => areas.has(s))).size;
}

/** What a review needs: a role and, usually, an expert type (without one: any type but `exceptTypes`). */
export interface ReviewNeed {
  role: AssignmentRole;
  expertType?: ExpertType;
  exceptTypes?: readonly ExpertType[];
}

export interface RoutingContext {
  requester: string;
  now: Date;
  /** The request's areas (`requestAreas`); none: specialties decide nothing. */
  areas?: readonly string[];
  /** Open reviews per expert id, when the caller counts picks of its own; otherwise each candidate's `openReviews`. */
  load?: ReadonlyMap<string, number>;
  /** Experts that may not take this one (already on the request, or failed it). */
  excluded?: ReadonlySet<string>;
}

/** The experts who may take the review, best first; empty when nobody can. */
export function rankCandidates(candidates: readonly ExpertCandidate[], need: ReviewNeed, context: RoutingContext): ExpertCandidate[] {
  const areas = new Set((context.areas ?? []).map(normaliseSpecialty));
  const load = (e: ExpertCandidate) => context.load?.get(e.id) ?? e.openReviews;
  const eligible = candidates.filter(
    (e) =>
      (need.expertType ? e.expertType === need.expertType : !(need.exceptTypes ?? []).includes(e.expertType)) &&
      fitsRole(e, need.role) &&
      e.active !== false &&
      isAvailableAt(e, context.now) &&
      load(e) < e.capacity &&
      !isRequester(e, context.requester) &&
      !context.excluded?.has(e.id),
  );
  const overlap = new Map(eligible.map((e) => [e.id, specialtyOverlap(e, areas)]));
  return eligible.sort(
    (a, b) =>
      overlap.get(b.id)! - overlap.get(a.id)! ||
      load(a) / a.capacity - load(b) / b.capacity ||
      load(a) - load(b) ||
      a.id.localeCompare(b.id),
  );
}

/** The best expert for the review, or undefined when nobody eligible is left. */
export function pickExpert(candidates: readonly ExpertCandidate[], need: ReviewNeed, context: RoutingContext): ExpertCandidate | undefined {
  return rankCandidates(candidates, need, context)[0];
}
