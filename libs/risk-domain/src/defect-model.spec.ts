import { aDeploymentRequest } from '@agf/contracts/testing';
import { CHANGE_METRICS, randomGenerator, sigmoid, trainRiskModel, type ChangeMetrics, type LabelledChange } from '@agf/model-domain';
import { assessRisk } from './assess';
import { defectModelFactor, withDefectModel } from './defect-model';

function history(n: number): LabelledChange[] {
  const random = randomGenerator(11);
  return Array.from({ length: n }, (_, i) => {
    const metrics = Object.fromEntries(CHANGE_METRICS.map((m) => [m, Math.floor(random() * 20)])) as ChangeMetrics;
    metrics.la = Math.floor(Math.exp(random() * 7));
    return { time: i, metrics, label: random() < sigmoid(Math.log1p(metrics.la) - 4) ? 1 : 0 };
  });
}

describe('the defect model factor', () => {
  const model = trainRiskModel(history(1500), { version: 'p@1', project: 'p', trainedAt: '2026-01-01T00:00:00Z', candidates: [{ learner: { kind: 'logistic', c: 1 }, recencyHalfLifeShare: null, balanceClasses: false }] });
  const metrics = { ns: 2, nd: 3, nf: 4, entropy: 0.8, la: 1240, ld: 30, lt: 900, fix: false, ndev: 3, age: 2, nuc: 10, exp: 1, rexp: 0.5, sexp: 1 };
  const request = aDeploymentRequest({ projectId: 'p', riskIndicators: { codeChanges: 1270, ...metrics } });
  const base = assessRisk({ request, history: {}, weights: { security: 0.35, complexity: 0.2, impact: 0.25, historical: 0.2 } });

  it('without a model: neutral, and says so', () => {
    const factor = defectModelFactor(request, undefined);
    expect(factor).toMatchObject({ status: 'no-model', weight: 0, probability: null, version: null });
    const combined = withDefectModel(base, factor);
    expect(combined.overallScore).toBe(base.overallScore);
    expect(combined.confidence).toBe(base.confidence);
    expect(combined.defectModel.explanation).toMatch(/no defect model for project p yet/);
  });

  it('without the change metrics: neutral, and names the model that could not be used', () => {
    const factor = defectModelFactor(aDeploymentRequest({ projectId: 'p' }), { model, scope: 'project' });
    expect(factor).toMatchObject({ status: 'no-metrics', weight: 0, version: 'p@1' });
  });

  it('with a model: the probability moves the score and the accuracy the confidence, by the weight', () => {
    const factor = defectModelFactor(request, { model, scope: 'project' }, 0.5);
    expect(factor.status).toBe('applied');
    expect(factor.drivers).toContain('1,240 lines added');
    const combined = withDefectModel(base, factor);
    expect(combined.overallScore).toBeCloseTo((base.overallScore + 0.5 * factor.probability!) / 1.5, 4);
    expect(combined.confidence).toBeCloseTo((base.confidence + 0.5 * factor.accuracy!) / 1.5, 4);
    expect(combined.riskFactors.at(-1)).toMatch(/^defect model: \d+ % chance of a defect-inducing change \(project model p@1\); driven by: /);
  });
});
