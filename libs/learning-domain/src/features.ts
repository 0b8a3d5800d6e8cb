import type { DeploymentRequest } from '@agf/contracts';

/** Named numeric signals, each normalised to 0..1 so distances are comparable. */
export type FeatureVector = Record<string, number>;

export interface RiskScores {
  overallScore: number;
  securityScore: number;
  complexityScore: number;
  impactScore: number;
}

/** Neutral value for a missing signal: "unknown" sits halfway, so it neither attracts nor repels. */
export const NEUTRAL = 0.5;

// Saturation points: beyond these, more of the signal adds no extra information.
const CODE_CHANGES_SATURATION = 5000; // lines, log scale
const FILES_CHANGED_SATURATION = 100;
const CHANGE_COUNT_SATURATION = 50;
const CRITICAL_VULNS_SATURATION = 3;
const HIGH_VULNS_SATURATION = 10;

const USER_IMPACT_LEVEL: Record<string, number> = {
  low: 0.25,
  medium: 0.5,
  high: 0.75,
  critical: 1,
};

function clamp01(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function linearSaturation(value: unknown, saturation: number): number {
  return isNumber(value) ? clamp01(value / saturation) : NEUTRAL;
}

/** Log scale so 10 vs 100 lines differs as much as 500 vs 5000. */
function logSaturation(value: unknown, saturation: number): number {
  if (!isNumber(value)) return NEUTRAL;
  return clamp01(Math.log1p(Math.max(0, value)) / Math.log1p(saturation));
}

function flag(value: unknown): number {
  return typeof value === 'boolean' ? (value ? 1 : 0) : NEUTRAL;
}

/** Risk scores may come as 0..1 or 0..100; both are mapped to 0..1. */
function normaliseScore(score: number): number {
  if (!isNumber(score)) return NEUTRAL;
  return clamp01(score > 1 ? score / 100 : score);
}

/**
 * Turns a deployment request (and optionally its assessed risk) into a 0..1 feature vector.
 *
 * Saturation: codeChanges log-scale up to ~5000 lines, filesChanged 100, changeCount 50,
 * criticalVulns 3, highVulns 10. Missing signals take NEUTRAL (0.5), except
 * vulnerabilities (missing counts as 0: no scan report means nothing found to weigh)
 * and complianceScoped / crossProject (absent lists mean "not in scope").
 */
export function extractFeatures(request: DeploymentRequest, risk?: RiskScores): FeatureVector {
  const indicators = request.riskIndicators ?? {};
  const vulnerabilities = indicators.vulnerabilities ?? {};
  const affectedProjects = Array.isArray(indicators.affectedProjects) ? indicators.affectedProjects : [];
  const complianceScopes = Array.isArray(indicators.complianceScopes) ? indicators.complianceScopes : [];
  const changes = Array.isArray(request.changes) ? request.changes : [];

  const features: FeatureVector = {
    codeChanges: logSaturation(indicators.codeChanges, CODE_CHANGES_SATURATION),
    filesChanged: linearSaturation(indicators.filesChanged, FILES_CHANGED_SATURATION),
    changeCount: clamp01(changes.length / CHANGE_COUNT_SATURATION),
    securitySensitive: flag(indicators.securitySensitive),
    touchesPersonalData: flag(indicators.touchesPersonalData),
    testsFailed: typeof indicators.testsPassed === 'boolean' ? (indicators.testsPassed ? 0 : 1) : NEUTRAL,
    userImpact: USER_IMPACT_LEVEL[indicators.userImpact ?? ''] ?? NEUTRAL,
    criticalVulns: clamp01((vulnerabilities.critical ?? 0) / CRITICAL_VULNS_SATURATION),
    highVulns: clamp01((vulnerabilities.high ?? 0) / HIGH_VULNS_SATURATION),
    crossProject: affectedProjects.some((projectId) => projectId !== request.projectId) ? 1 : 0,
    complianceScoped: complianceScopes.length > 0 ? 1 : 0,
    entropy: isNumber(indicators.entropy) ? clamp01(indicators.entropy) : NEUTRAL,
  };

  if (risk) {
    features.riskOverall = normaliseScore(risk.overallScore);
    features.riskSecurity = normaliseScore(risk.securityScore);
    features.riskComplexity = normaliseScore(risk.complexityScore);
    features.riskImpact = normaliseScore(risk.impactScore);
  }
  return features;
}

/**
 * 1 - Euclidean distance / sqrt(dimensions), over the union of keys (missing key = 0).
 * Values are clamped to 0..1 first so the result is guaranteed to stay in 0..1.
 */
export function similarity(a: FeatureVector, b: FeatureVector): number {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  if (keys.size === 0) return 1;
  let squaredSum = 0;
  for (const key of keys) {
    const diff = clamp01(a[key] ?? 0) - clamp01(b[key] ?? 0);
    squaredSum += diff * diff;
  }
  return clamp01(1 - Math.sqrt(squaredSum / keys.size));
}

const MIN_LIMIT = 1;
const MAX_LIMIT = 100;

/** Most similar first; equal similarity keeps input order so results are reproducible. */
export function rankSimilar<T extends { features: FeatureVector }>(
  target: FeatureVector,
  candidates: T[],
  limit: number,
): Array<T & { similarity: number }> {
  const boundedLimit = Math.min(MAX_LIMIT, Math.max(MIN_LIMIT, Math.floor(isNumber(limit) ? limit : MIN_LIMIT)));
  return candidates
    .map((candidate, index) => ({ candidate, index, score: similarity(target, candidate.features) }))
    .sort((left, right) => right.score - left.score || left.index - right.index)
    .slice(0, boundedLimit)
    .map(({ candidate, score }) => ({ ...candidate, similarity: score }));
}
