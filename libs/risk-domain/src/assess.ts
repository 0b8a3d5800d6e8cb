import type { AnalyzerResult, DeploymentRequest } from '@agf/contracts';
import { analyzeComplexity, analyzeHistory, analyzeImpact, analyzeSecurity, type HistoryView, round4 } from './analyzers';

export interface RiskWeights {
  security: number;
  complexity: number;
  impact: number;
  historical: number;
}

export interface RiskAssessment {
  overallScore: number;
  securityScore: number;
  complexityScore: number;
  impactScore: number;
  historicalScore: number;
  confidence: number;
  riskFactors: string[];
  mitigationSuggestions: string[];
  analyzers: { security: AnalyzerResult; complexity: AnalyzerResult; impact: AnalyzerResult; historical: AnalyzerResult };
  /** The weights actually used, normalised to sum to 1. */
  weights: RiskWeights;
}

export function normaliseWeights(weights: RiskWeights): RiskWeights {
  const total = weights.security + weights.complexity + weights.impact + weights.historical;
  // All-zero weights would make every score 0/0; read them as "no preference" instead.
  if (total <= 0) return { security: 0.25, complexity: 0.25, impact: 0.25, historical: 0.25 };
  return {
    security: weights.security / total,
    complexity: weights.complexity / total,
    impact: weights.impact / total,
    historical: weights.historical / total,
  };
}

/**
 * Scores a request. A pure function of the request, its history and the weights, so the same input
 * always gives the same score (the historical analyzer measures recency from the request's timestamp,
 * not the clock). The overall score and confidence are the weighted means of the four analyzers'.
 */
export function assessRisk(input: { request: DeploymentRequest; history: HistoryView; weights: RiskWeights }): RiskAssessment {
  const analyzers = {
    security: analyzeSecurity(input.request),
    complexity: analyzeComplexity(input.request),
    impact: analyzeImpact(input.request),
    historical: analyzeHistory(input.request, input.history),
  };
  const weights = normaliseWeights(input.weights);
  const weighted = (pick: (a: AnalyzerResult) => number) =>
    round4(
      weights.security * pick(analyzers.security) +
        weights.complexity * pick(analyzers.complexity) +
        weights.impact * pick(analyzers.impact) +
        weights.historical * pick(analyzers.historical),
    );
  const all = [analyzers.security, analyzers.complexity, analyzers.impact, analyzers.historical];
  return {
    overallScore: Math.min(1, weighted((a) => a.score)),
    securityScore: analyzers.security.score,
    complexityScore: analyzers.complexity.score,
    impactScore: analyzers.impact.score,
    historicalScore: analyzers.historical.score,
    confidence: Math.min(1, weighted((a) => a.confidence)),
    riskFactors: all.flatMap((a) => a.factors),
    mitigationSuggestions: [...new Set(all.flatMap((a) => a.mitigations))],
    analyzers,
    weights,
  };
}
