import type { DefectModelFactor, DeploymentRequest } from '@agf/contracts';
import { changeMetricsOf, explainPrediction, predictDefectProbability, type RiskModel } from '@agf/model-domain';
import { round4 } from './analyzers';
import type { RiskAssessment } from './assess';

/** Weight of the defect model next to the four analyzers (whose normalised weights sum to 1), unless policy sets one. */
export const DEFAULT_DEFECT_MODEL_WEIGHT = 0.25;

export interface AvailableModel {
  readonly model: RiskModel;
  readonly scope: 'project' | 'cross-project';
}

/**
 * The learned model's factor for one request: its calibrated defect probability and what drove it, or, without a
 * model or without the 14 change metrics, a neutral factor (weight 0) that says why.
 */
export function defectModelFactor(request: Pick<DeploymentRequest, 'projectId' | 'riskIndicators'>, available: AvailableModel | undefined, weight = DEFAULT_DEFECT_MODEL_WEIGHT): DefectModelFactor {
  const neutral = (status: 'no-model' | 'no-metrics', explanation: string): DefectModelFactor => ({
    status,
    version: available?.model.version ?? null,
    scope: available?.scope ?? null,
    probability: null,
    weight: 0,
    accuracy: available ? round4(available.model.validation.auc) : null,
    explanation,
    drivers: [],
  });
  if (!available) return neutral('no-model', `no defect model for project ${request.projectId} yet (import its history): the factor is neutral`);
  const metrics = changeMetricsOf(request.riskIndicators);
  if (!metrics) return neutral('no-metrics', 'the request carries no complete change metrics (ns … sexp): the defect model is not used');
  const probability = round4(predictDefectProbability(available.model, metrics));
  const { raising, lowering } = explainPrediction(available.model, metrics);
  const drivers = raising.length ? raising : lowering;
  const why = raising.length ? `driven by: ${raising.join('; ')}` : lowering.length ? `lowered by: ${lowering.join('; ')}` : 'nothing stands out';
  const from = available.scope === 'project' ? `project model ${available.model.version}` : `cross-project model ${available.model.version}`;
  return {
    status: 'applied',
    version: available.model.version,
    scope: available.scope,
    probability,
    weight,
    accuracy: round4(available.model.validation.auc),
    explanation: `${Math.round(probability * 100)} % chance of a defect-inducing change (${from}); ${why}`,
    drivers,
  };
}

/**
 * Folds the factor into the score and the confidence: both become weighted means with the factor's weight next
 * to the analyzers' (normalised to 1). The model's share of the confidence is its measured accuracy on recent
 * outcomes. A neutral factor (weight 0) leaves the assessment as it was.
 */
export function withDefectModel<A extends RiskAssessment>(assessment: A, factor: DefectModelFactor): A & { defectModel: DefectModelFactor } {
  if (factor.status !== 'applied' || factor.probability === null || factor.weight <= 0) return { ...assessment, defectModel: factor };
  const w = factor.weight;
  return {
    ...assessment,
    overallScore: Math.min(1, round4((assessment.overallScore + w * factor.probability) / (1 + w))),
    confidence: Math.min(1, round4((assessment.confidence + w * (factor.accuracy ?? 0.5)) / (1 + w))),
    riskFactors: [...assessment.riskFactors, `defect model: ${factor.explanation}`],
    defectModel: factor,
  };
}
