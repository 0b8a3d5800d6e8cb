import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type RiskModelPublished } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { type LabelledChange, type RiskModel, type TrainOptions } from '@agf/model-domain';
import { DataSource } from 'typeorm';
import { changeHistoryRepository as history } from './change-history.repository';

/** A project needs this much labelled history (and both outcomes) for its own model; below it the cross-project model serves it. */
export const MIN_PROJECT_ROWS = 200;
export const MIN_CLASS_ROWS = 20;
/** The cross-project model learns from the most recent changes of all projects, up to this many. */
export const CROSS_PROJECT_ROWS = 60_000;
/** A model is published only when it ranks recent outcomes better than this (ROC AUC on its validation rows). */
export const MIN_VALIDATION_AUC = 0.55;
/** Kept well under the broker's event size limit. */
const MAX_MODEL_BYTES = 700_000;

export interface TrainingReport {
  scope: string;
  version?: string;
  passed: boolean;
  detail: string;
}

/**
 * Retrains the defect models after history changes (an import, or reported outcomes), off the decision path:
 * changes mark their project; a timer (AGF_MODEL_RETRAIN_DELAY_MS after the first mark, default 30 s) trains
 * each marked project's model and the cross-project model in a worker thread, one at a time, and publishes
 * each model that passes its checks as `learning.risk-model.published`.
 */
@Injectable()
export class ModelTrainer implements OnApplicationShutdown {
  private readonly logger = new Logger(ModelTrainer.name);
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly delayMs = Number(process.env['AGF_MODEL_RETRAIN_DELAY_MS'] ?? 30_000);

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
  ) {}

  /** Marks a project's history as changed; the next scheduled run retrains it. */
  schedule(projectId: string): void {
    if (this.stopped) return;
    this.dirty.add(projectId);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.running = (this.running ?? Promise.resolve()).then(async () => void (await this.runOnce())).catch((error: unknown) => this.logger.error(`retraining failed: ${(error as Error).stack ?? String(error)}`));
    }, this.delayMs);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async runOnce(): Promise<TrainingReport[]> {
    const projects = [...this.dirty];
    this.dirty.clear();
    const reports: TrainingReport[] = [];
    for (const projectId of projects) {
      if (this.stopped) break;
      reports.push(await this.train(projectId));
    }
    if (projects.length && !this.stopped) reports.push(await this.train(null));
    for (const r of reports) this.logger.log(`model ${r.scope}: ${r.passed ? 'published' : 'not published'} ${r.version ?? ''} (${r.detail})`);
    return reports;
  }

  private async train(projectId: string | null): Promise<TrainingReport> {
    const scope = projectId ?? 'cross-project';
    const rows = projectId ? await history.projectRows(this.dataSource, projectId) : await history.recentRows(this.dataSource, CROSS_PROJECT_ROWS);
    const positives = rows.reduce((n, r) => n + r.label, 0);
    if (rows.length < MIN_PROJECT_ROWS || positives < MIN_CLASS_ROWS || rows.length - positives < MIN_CLASS_ROWS) {
      return { scope, passed: false, detail: `${rows.length} changes (${positives} defect-inducing): too little history for a model` };
    }
    const sequence = await history.nextModelSequence(this.dataSource);
    const version = `${scope}@${sequence}`;
    const trainedAt = new Date().toISOString();
    const model = await trainInWorker(rows, { version, project: projectId, trainedAt });
    const json = JSON.stringify(model);
    const failures = [
      ...(model.validation.auc >= MIN_VALIDATION_AUC ? [] : [`validation AUC ${model.validation.auc.toFixed(3)} < ${MIN_VALIDATION_AUC}`]),
      ...(model.validation.brier < model.validation.baseRateBrier ? [] : [`validation Brier ${model.validation.brier.toFixed(4)} is no better than the base rate's ${model.validation.baseRateBrier.toFixed(4)}`]),
      ...(json.length <= MAX_MODEL_BYTES ? [] : [`${json.length} bytes, over ${MAX_MODEL_BYTES}`]),
    ];
    const passed = failures.length === 0;
    const detail = passed ? `${rows.length} changes, validation AUC ${model.validation.auc.toFixed(3)}, Brier ${model.validation.brier.toFixed(4)}` : failures.join('; ');
    await this.publisher.transaction(async (tx) => {
      await history.recordModel(tx.manager, { sequence, version, projectId, passed, detail, model, trainedAt });
      if (!passed) return;
      const data: RiskModelPublished = {
        version,
        projectId,
        sequence,
        trainingRows: rows.length,
        validationAuc: model.validation.auc,
        validationBrier: model.validation.brier,
        model: JSON.parse(json) as Record<string, unknown>,
        publishedAt: new Date().toISOString(),
      };
      tx.emit({ name: 'learning.risk-model.published', correlationId: randomUUID(), subjectToken: scope, data });
    });
    return { scope, version, passed, detail };
  }
}

function trainInWorker(rows: LabelledChange[], options: TrainOptions): Promise<RiskModel> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'model-training.worker.js'), { workerData: { rows, options } });
    worker.once('message', (model: RiskModel) => resolve(model));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`training worker exited with ${code}`))));
  });
}
