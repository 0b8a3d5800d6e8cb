import { parentPort, workerData } from 'node:worker_threads';
import { trainRiskModel, type LabelledChange, type TrainOptions } from '@agf/model-domain';

/** Trains one model off the service's event loop, so message handling and HTTP never wait for it. */
const { rows, options } = workerData as { rows: LabelledChange[]; options: TrainOptions };
parentPort!.postMessage(trainRiskModel(rows, options));
