import { fitLogistic, sigmoid } from './logistic';

/** Platt scaling: probability = sigmoid(slope · margin + offset), fitted on held-out (later-in-time) predictions. */
export interface PlattCalibration {
  readonly slope: number;
  readonly offset: number;
}

export function fitPlatt(margins: readonly number[], labels: readonly number[]): PlattCalibration {
  const model = fitLogistic(
    margins.map((m) => [m]),
    labels,
    { c: 1e6 },
  );
  return { slope: model.weights[0]!, offset: model.intercept };
}

export const calibrate = (calibration: PlattCalibration, margin: number): number => sigmoid(calibration.slope * margin + calibration.offset);
