import type { ConfidenceScore } from '@agf/contracts';
import type { Verdict } from './types';

export interface ConfidenceInput {
  riskScore: number;
  reviews: { decision: Verdict; confidence: number }[];
  /** Reviews the tier asked for; fewer answers (an escalation) mean a less complete basis. */
  expectedReviews: number;
  /** How much the history behind the risk score can be trusted (the historical analyzer's confidence). */
  historicalAccuracy: number;
  /** How complete the request's signals were (the risk assessment's confidence). */
  dataQuality: number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The PRD's DecisionConfidenceScorer: the mean of expert consensus, historical accuracy and data quality,
 * scaled by a risk adjustment (1 - 0.2 × risk) and a completeness adjustment.
 *
 * Where the PRD is ill-defined we chose: consensus is the confidence-weighted share of reviews that agree
 * with the majority verdict (approve and conditional agree on "go"), 0.5 with no review at all; the
 * PRD's completeness (risk factors / 10) would punish a clean request for having few risks, so
 * completeness is the share of expected reviews that came in, mapped to 0.5..1.
 */
export function calculateConfidence(input: ConfidenceInput): ConfidenceScore {
  const expertConsensus = consensusOf(input.reviews);
  const baseConfidence = (expertConsensus + input.historicalAccuracy + input.dataQuality) / 3;
  const riskAdjustment = 1 - input.riskScore * 0.2;
  const answered = input.expectedReviews === 0 ? 1 : Math.min(1, input.reviews.length / input.expectedReviews);
  const completenessAdjustment = 0.5 + 0.5 * answered;
  const score = round(Math.min(1, Math.max(0, baseConfidence * riskAdjustment * completenessAdjustment)));
  return {
    score,
    level: levelOf(score),
    calculationBasis: {
      expertConsensus: round(expertConsensus),
      historicalAccuracy: round(input.historicalAccuracy),
      dataQuality: round(input.dataQuality),
      riskAdjustment: round(riskAdjustment),
      completenessAdjustment: round(completenessAdjustment),
      baseConfidence: round(baseConfidence),
      expertCount: input.reviews.length,
      riskLevel: round(input.riskScore),
    },
  };
}

function consensusOf(reviews: ConfidenceInput['reviews']): number {
  if (!reviews.length) return 0.5;
  let go = 0;
  let stop = 0;
  for (const review of reviews) {
    const weight = Math.max(0.05, review.confidence);
    if (review.decision === 'reject') stop += weight;
    else go += weight;
  }
  return Math.max(go, stop) / (go + stop);
}

export function levelOf(score: number): ConfidenceScore['level'] {
  if (score < 0.2) return 'very_low';
  if (score < 0.4) return 'low';
  if (score < 0.6) return 'medium';
  if (score < 0.8) return 'high';
  return 'very_high';
}
