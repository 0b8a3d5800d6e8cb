import type { AnalyzerResult, DeploymentRequest, HistoryStats } from '@agf/contracts';
import { classifySecurityChanges, detectSecrets } from './change-classification';

/*
 * The four analyzers of the PRD. Each turns the signals it knows into a score in 0..1, names the factors
 * that raised it in plain words, suggests mitigations, and reports a confidence that falls with every
 * signal the request did not carry. Scores combine independent contributions as a "noisy or"
 * (1 − Π(1 − cᵢ)): each adds risk, none can push the score past 1, and the order does not matter.
 */

/** Below this a signal is not worth naming as a factor. */
const FACTOR_THRESHOLD = 0.1;

export function noisyOr(contributions: readonly number[]): number {
  return 1 - contributions.reduce((remaining, c) => remaining * (1 - clamp01(c)), 1);
}

export function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** Grows quickly at first and approaches 1 at `saturation` (log scale), so 10 → 100 lines matters more than 4,000 → 4,090. */
function logSaturation(value: number, saturation: number): number {
  return clamp01(Math.log1p(Math.max(0, value)) / Math.log1p(saturation));
}

function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : pluralWord}`;
}

/** Scores are published with 4 decimals, so equal inputs give byte-equal events. */
export function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function result(contributions: Array<[number, string | undefined]>, mitigations: string[], confidence: number, baseline = 0): AnalyzerResult {
  return {
    score: round4(noisyOr([baseline, ...contributions.map(([c]) => c)])),
    confidence: round4(clamp01(confidence)),
    factors: contributions.filter(([c, factor]) => c >= FACTOR_THRESHOLD && factor).map(([, factor]) => factor as string),
    mitigations: [...new Set(mitigations)],
  };
}

// --- security ----------------------------------------------------------------------------------------

/** Per-finding weight by severity: two criticals already put a request past the critical threshold. */
const VULNERABILITY_WEIGHT = { critical: 0.45, high: 0.2, medium: 0.05, low: 0.01 } as const;

export function analyzeSecurity(request: Pick<DeploymentRequest, 'changes' | 'riskIndicators'>): AnalyzerResult {
  const ri = request.riskIndicators;
  const contributions: Array<[number, string | undefined]> = [];
  const mitigations: string[] = [];
  let confidence = 1;

  if (ri.vulnerabilities) {
    for (const severity of ['critical', 'high', 'medium', 'low'] as const) {
      const count = ri.vulnerabilities[severity] ?? 0;
      if (!count) continue;
      contributions.push([noisyOr(Array(Math.min(count, 20)).fill(VULNERABILITY_WEIGHT[severity])), plural(count, `${severity} vulnerability`, `${severity} vulnerabilities`)]);
      if (severity === 'critical' || severity === 'high') mitigations.push(`Fix or patch the ${severity} vulnerabilities before deploying`);
    }
  } else {
    // No scan result: the absence of findings says nothing.
    confidence -= 0.35;
  }

  if (ri.securitySensitive === true) {
    contributions.push([0.3, 'marked security-sensitive by the pipeline']);
    mitigations.push('Have a security expert review the change');
  } else if (ri.securitySensitive === undefined) {
    confidence -= 0.1;
  }

  const areas = new Map<string, string>();
  for (const match of classifySecurityChanges(request.changes)) if (!areas.has(match.area)) areas.set(match.area, match.change);
  for (const [area, change] of areas) {
    contributions.push([0.15, `changes ${area} code (${truncate(change, 60)})`]);
    mitigations.push(area === 'dependencies' ? 'Scan the updated dependencies for known vulnerabilities' : `Review the ${area} changes with a security expert`);
  }

  const secrets = detectSecrets(request.changes);
  if (secrets.length) {
    contributions.push([0.6, `possible secret in the change list (${[...new Set(secrets.map((s) => s.kind))].join(', ')})`]);
    mitigations.push('Remove the secret from the change and rotate it');
  }

  if (!request.changes.length) confidence -= 0.2;
  return result(contributions, mitigations, confidence);
}

// --- complexity --------------------------------------------------------------------------------------

interface ComplexitySignal {
  /** Share of the complexity score when every signal is present. */
  weight: number;
  value: number | undefined;
  normalise(value: number): number;
  factor(value: number): string;
}

/**
 * Size and spread of the change (Kamei et al.'s size and diffusion metrics). A weighted mean over the
 * signals present, so a request carrying only `codeChanges` is judged on it alone, with less confidence.
 */
export function analyzeComplexity(request: Pick<DeploymentRequest, 'changes' | 'riskIndicators'>): AnalyzerResult {
  const ri = request.riskIndicators;
  const lines = ri.codeChanges ?? sumDefined(ri.la, ri.ld);
  const files = ri.filesChanged ?? ri.nf;
  const spread = maxDefined(ri.ns, ri.nd);
  const signals: ComplexitySignal[] = [
    { weight: 0.35, value: lines, normalise: (v) => logSaturation(v, 5000), factor: (v) => `${plural(Math.round(v), 'line')} changed` },
    { weight: 0.25, value: files, normalise: (v) => logSaturation(v, 100), factor: (v) => `${plural(Math.round(v), 'file')} changed` },
    { weight: 0.15, value: ri.entropy, normalise: (v) => clamp01(v), factor: (v) => `changes scattered across files (entropy ${v.toFixed(2)})` },
    { weight: 0.15, value: spread, normalise: (v) => logSaturation(Math.max(0, v - 1), 10), factor: (v) => `changes spread over ${plural(Math.round(v), 'subsystem or directory', 'subsystems or directories')}` },
    { weight: 0.1, value: request.changes.length || undefined, normalise: (v) => logSaturation(v, 50), factor: (v) => `${plural(v, 'listed change')}` },
  ];
  const present = signals.filter((s) => s.value !== undefined);
  const presentWeight = present.reduce((sum, s) => sum + s.weight, 0);
  const factors: string[] = [];
  let weighted = 0;
  for (const s of present) {
    const normalised = s.normalise(s.value as number);
    weighted += s.weight * normalised;
    if (normalised >= 0.6) factors.push(s.factor(s.value as number));
  }
  // Nothing known about the size: a neutral middle, not "small".
  let score = presentWeight > 0 ? weighted / presentWeight : 0.5;
  const mitigations: string[] = [];
  if (score >= 0.6) mitigations.push('Split the change into smaller deployments', 'Deploy behind a feature flag or as a canary');
  if (ri.testsPassed === false) {
    score = noisyOr([score, 0.35]);
    factors.push('tests failed');
    mitigations.push('Fix the failing tests before deploying');
  }
  const confidence = 0.3 + 0.7 * presentWeight - (ri.testsPassed === undefined ? 0.1 : 0);
  return { score: round4(score), confidence: round4(clamp01(confidence)), factors, mitigations };
}

// --- impact ------------------------------------------------------------------------------------------

const USER_IMPACT_SCORE = { low: 0.1, medium: 0.35, high: 0.65, critical: 0.9 } as const;

/** Who and what a failure would hurt: users, other projects, personal data, regulated scopes. */
export function analyzeImpact(request: Pick<DeploymentRequest, 'projectId' | 'riskIndicators' | 'metadata'>): AnalyzerResult {
  const ri = request.riskIndicators;
  const contributions: Array<[number, string | undefined]> = [];
  const mitigations: string[] = [];
  let confidence = 1;

  if (ri.userImpact) {
    contributions.push([USER_IMPACT_SCORE[ri.userImpact], `${ri.userImpact} user impact`]);
    if (ri.userImpact === 'high' || ri.userImpact === 'critical') mitigations.push('Roll out gradually (canary) and watch error rates and latency');
  } else {
    // Unknown reach: assume a medium one rather than none.
    contributions.push([USER_IMPACT_SCORE.medium, undefined]);
    confidence -= 0.4;
  }

  const others = [...new Set((ri.affectedProjects ?? []).filter((p) => p !== request.projectId))];
  if (others.length) {
    contributions.push([noisyOr(Array(Math.min(others.length, 10)).fill(0.2)), `affects ${plural(others.length, 'other project')}: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}`]);
    mitigations.push(`Tell the owners of ${others.slice(0, 5).join(', ')} and agree a rollout window`);
  }
  if (ri.affectedProjects === undefined) confidence -= 0.1;

  if (ri.touchesPersonalData === true) {
    contributions.push([0.3, 'touches personal data']);
    mitigations.push('Have the data-protection officer confirm the processing is covered');
  } else if (ri.touchesPersonalData === undefined) {
    confidence -= 0.1;
  }

  const scopes = ri.complianceScopes ?? [];
  if (scopes.length) contributions.push([0.1, `in compliance scope ${scopes.join(', ')}`]);

  if ((ri.completionPercentage ?? 0) >= 100 || request.metadata['completionMode'] === 'DOMINO') {
    contributions.push([0.15, 'completes a multi-stage (DOMINO) rollout']);
  }
  return result(contributions, mitigations, confidence);
}

// --- historical --------------------------------------------------------------------------------------

export interface HistoryView {
  project?: HistoryStats;
  component?: HistoryStats;
}

/** Failure-rate prior and its weight in pseudo-deployments: a few outcomes move the score, one does not decide it. */
const PRIOR_FAILURE_RATE = 0.5;
const PRIOR_WEIGHT = 2;
const RECENT_FAILURE_DAYS = 7;

/**
 * Past outcomes of the project and component (from learning's replica) and the change's history metrics
 * (Kamei's bug-fix flag and developer experience). The failure rate is smoothed towards a neutral prior,
 * so a project with no history scores 0.5 with a low confidence, and each rollback raises the next score.
 */
export function analyzeHistory(request: Pick<DeploymentRequest, 'riskIndicators' | 'timestamp'>, history: HistoryView): AnalyzerResult {
  const ri = request.riskIndicators;
  const project = history.project;
  const component = history.component;
  const projectDeployments = project?.deployments ?? 0;
  const componentDeployments = component?.deployments ?? 0;
  const factors: string[] = [];
  const mitigations: string[] = [];

  const smoothed = (stats: HistoryStats | undefined) =>
    ((stats ? stats.failures + stats.rollbacks : 0) + PRIOR_FAILURE_RATE * PRIOR_WEIGHT) / ((stats?.deployments ?? 0) + PRIOR_WEIGHT);
  // The component's own record counts for more once it has one; the project's fills in for a new component.
  const componentShare = componentDeployments / (componentDeployments + PRIOR_WEIGHT);
  const failureRate = componentShare * smoothed(component) + (1 - componentShare) * smoothed(project);
  const contributions: number[] = [];

  const rolledBack = (component?.rollbacks ?? 0) || (project?.rollbacks ?? 0);
  const failed = (component?.failures ?? 0) || (project?.failures ?? 0);
  if (component?.rollbacks) factors.push(`${plural(component.rollbacks, 'rollback')} of this component in ${plural(component.deployments, 'deployment')}`);
  else if (project?.rollbacks) factors.push(`${plural(project.rollbacks, 'rollback')} in this project's ${plural(project.deployments, 'deployment')}`);
  if (component?.failures) factors.push(`${plural(component.failures, 'failed deployment')} of this component`);
  else if (project?.failures) factors.push(`${plural(project.failures, 'failed deployment')} in this project`);
  if (rolledBack || failed) mitigations.push('Rehearse the rollback before deploying and keep the previous version ready');

  const incidents = Math.max(project?.recentIncidents ?? 0, component?.recentIncidents ?? 0);
  if (incidents) {
    contributions.push(noisyOr(Array(Math.min(incidents, 10)).fill(0.1)));
    factors.push(`${plural(incidents, 'incident')} in the last 30 days`);
  }
  const lastFailure = latest(component?.lastFailureAt, project?.lastFailureAt);
  const reference = Date.parse(request.timestamp);
  if (lastFailure !== undefined && reference - lastFailure < RECENT_FAILURE_DAYS * 86_400_000) {
    contributions.push(0.15);
    factors.push(`last failure less than ${RECENT_FAILURE_DAYS} days ago`);
    mitigations.push('Deploy outside peak hours with an engineer watching');
  }

  if (ri.fix === true || ri.fix === 1) {
    contributions.push(0.1);
    factors.push('bug-fix change (fixes are more defect-prone)');
  }
  if (ri.exp !== undefined && ri.exp < 10) {
    contributions.push(0.1);
    factors.push(`author has little experience in this code (${ri.exp} earlier changes)`);
    mitigations.push('Pair the review with an engineer who knows this code');
  }

  const score = noisyOr([failureRate, ...contributions]);
  const known = projectDeployments + componentDeployments;
  // No history is not an error: a neutral score with a low confidence, rising with every recorded outcome.
  const confidence = known === 0 ? 0.3 : 0.4 + 0.6 * Math.min(1, Math.max(projectDeployments, componentDeployments) / 10);
  if (known === 0) factors.push('no deployment history yet (neutral score)');
  return { score: round4(score), confidence: round4(confidence), factors, mitigations };
}

function latest(...isoTimes: Array<string | null | undefined>): number | undefined {
  const times = isoTimes.filter((t): t is string => !!t).map((t) => Date.parse(t));
  return times.length ? Math.max(...times) : undefined;
}

function sumDefined(...values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : undefined;
}

function maxDefined(...values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? Math.max(...present) : undefined;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

