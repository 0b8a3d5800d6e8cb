import { createInterface } from 'node:readline';
import { Controller, Get, HttpCode, Logger, Post, Query, Req } from '@nestjs/common';
import { ProjectId } from '@agf/contracts';
import { HistoryLineReader, type HistoryRow } from '@agf/model-domain';
import { ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { changeHistoryRepository as history } from './change-history.repository';
import { ModelTrainer } from './model-trainer';

const BATCH = 2000;
/** Bad rows listed in a refusal; the count covers all of them. */
const LISTED_ERRORS = 100;
export const MAX_IMPORT_ROWS = 2_000_000;

export interface ImportResult {
  projectId: string;
  format: 'csv' | 'jsonl';
  rows: number;
  imported: number;
  duplicates: number;
  seconds: number;
}

class RowsRefused extends Error {}

function projectOf(value: unknown): string {
  const parsed = ProjectId.safeParse(value);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'projectId (query) must be a project id', [{ path: 'projectId', message: 'must match [A-Za-z0-9_-]{1,128}' }]);
  return parsed.data;
}

/**
 * Past changes of a project, imported so the defect model learns from them on day one (issue 28). The body
 * streams through line by line (CSV with a header, or JSON Lines) into one transaction: a file with any bad
 * row imports nothing, and its bad rows come back by line number. Rows already imported are skipped, so the
 * same file imported twice adds nothing.
 */
@Controller('v1')
export class HistoryImportHttpController {
  private readonly logger = new Logger(HistoryImportHttpController.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly trainer: ModelTrainer,
  ) {}

  @Post('history/import')
  @Roles('admin')
  @HttpCode(200)
  async import(@Req() req: Request, @Query('projectId') projectParam: unknown): Promise<ImportResult> {
    const projectId = projectOf(projectParam);
    const format = req.is(['text/csv']) ? 'csv' : req.is(['application/x-ndjson', 'application/jsonl', 'application/jsonlines']) ? 'jsonl' : undefined;
    if (!format) throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send the history as text/csv or application/x-ndjson (JSON Lines)');
    const started = performance.now();
    const reader = new HistoryLineReader(format);
    const errors: Array<{ path: string; message: string }> = [];
    let badRows = 0;
    let rows = 0;
    let imported = 0;
    try {
      await this.dataSource.transaction(async (manager) => {
        let batch: HistoryRow[] = [];
        const flush = async () => {
          // After the first bad row nothing more is written: the transaction rolls back anyway.
          if (badRows === 0) imported += await history.insert(manager, projectId, batch, 'import');
          batch = [];
        };
        for await (const line of createInterface({ input: req, crlfDelay: Infinity })) {
          const parsed = reader.read(line);
          if (parsed.kind === 'error') {
            badRows++;
            if (errors.length < LISTED_ERRORS) errors.push({ path: `line ${parsed.line}`, message: parsed.message });
          } else if (parsed.kind === 'row') {
            rows++;
            if (rows > MAX_IMPORT_ROWS) throw new ProblemError(413, 'too-large', 'Content Too Large', `at most ${MAX_IMPORT_ROWS} rows per import; split the file`);
            batch.push(parsed.row);
            if (batch.length >= BATCH) await flush();
            if (rows % 50_000 === 0) this.logger.log(`import ${projectId}: ${rows} rows read`);
          }
        }
        await flush();
        if (badRows > 0) throw new RowsRefused();
      });
    } catch (error) {
      if (!(error instanceof RowsRefused)) throw error;
      throw new ProblemError(422, 'invalid-rows', 'Unprocessable Content', `${badRows} bad row(s); nothing was imported`, errors);
    }
    if (rows === 0) throw new ProblemError(422, 'invalid-rows', 'Unprocessable Content', 'the file has no rows', []);
    if (imported > 0) this.trainer.schedule(projectId);
    const seconds = (performance.now() - started) / 1000;
    this.logger.log(`import ${projectId}: ${rows} rows, ${imported} new, in ${seconds.toFixed(1)} s`);
    return { projectId, format, rows, imported, duplicates: rows - imported, seconds };
  }

  /** The defect models trained for a project (`projectId` absent: the cross-project model), newest first. */
  @Get('models')
  @Roles('admin', 'auditor')
  async models(@Query('projectId') projectParam: unknown) {
    const projectId = projectParam === undefined ? null : projectOf(projectParam);
    return { projectId, models: await history.models(this.dataSource, projectId) };
  }
}
