import { randomBytes, randomUUID } from 'node:crypto';
import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import { buildEvidenceReport, buildPopulation, DEFAULT_PACKS, type Framework, FRAMEWORKS, type PeriodEvidence } from '@agf/compliance-domain';
import { PROJECT_ID_PATTERN } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { CurrentPrincipal, POLICY, ProblemError, Roles } from '@agf/platform';
import { compliancePacksOf, type GovernancePolicy } from '@agf/policy';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { AuditCheckpointer } from '../audit-checkpointer';
import { verifyAuditChain } from '../audit-verification';
import { classificationCoverage } from '../data-lifecycle/classification-coverage';
import { buildEvidencePackage } from './evidence-package';
import { evidenceRepository as evidence } from './evidence.repository';
import { personalValues } from '../privacy/personal-values.repository';

/** More changes than this in one report: ask for a shorter period or one project. */
const MAX_POPULATION = 20_000;
const MAX_SAMPLE = 1000;

interface ReportQuery {
  framework: Framework;
  from: string;
  to: string;
  projectId: string | undefined;
  sample: { size: number; seed: string } | undefined;
}

function parseInstant(text: string | undefined, name: string): string {
  // A date alone means its midnight UTC; any instant is kept as the ISO text the events carry, for comparison.
  const valid = text && /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text) && !Number.isNaN(Date.parse(text));
  if (!valid) throw new ProblemError(400, 'invalid-query', 'Bad Request', `${name} must be a date (YYYY-MM-DD) or an ISO 8601 instant`, [{ path: name, message: 'expected YYYY-MM-DD or an ISO 8601 instant' }]);
  return new Date(text.length === 10 ? `${text}T00:00:00.000Z` : text).toISOString();
}

export function parseReportQuery(query: Record<string, unknown>): ReportQuery {
  const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const framework = text('framework')?.toUpperCase();
  if (!FRAMEWORKS.includes(framework as Framework)) {
    throw new ProblemError(400, 'invalid-query', 'Bad Request', `framework must be one of ${FRAMEWORKS.join(', ')}`, [{ path: 'framework', message: `expected ${FRAMEWORKS.join(' | ')}` }]);
  }
  const from = parseInstant(text('from'), 'from');
  const to = parseInstant(text('to'), 'to');
  if (from >= to) throw new ProblemError(400, 'invalid-query', 'Bad Request', 'from must be before to', [{ path: 'to', message: 'must be after from' }]);
  const project = text('project');
  if (project !== undefined && !PROJECT_ID_PATTERN.test(project)) {
    throw new ProblemError(400, 'invalid-query', 'Bad Request', 'project is not a valid project id', [{ path: 'project', message: 'expected [A-Za-z0-9_-]{1,128}' }]);
  }
  const sampleText = text('sample');
  const seedText = text('seed');
  if (sampleText !== undefined && !(/^\d{1,4}$/.test(sampleText) && Number(sampleText) >= 1 && Number(sampleText) <= MAX_SAMPLE)) {
    throw new ProblemError(400, 'invalid-query', 'Bad Request', `sample must be an integer 1-${MAX_SAMPLE}`, [{ path: 'sample', message: `expected 1-${MAX_SAMPLE}` }]);
  }
  if (seedText !== undefined && !/^[\x21-\x7e]{1,128}$/.test(seedText)) {
    throw new ProblemError(400, 'invalid-query', 'Bad Request', 'seed must be 1-128 printable characters', [{ path: 'seed', message: 'expected 1-128 printable ASCII characters' }]);
  }
  if (seedText !== undefined && sampleText === undefined) throw new ProblemError(400, 'invalid-query', 'Bad Request', 'seed needs sample', [{ path: 'seed', message: 'only with sample' }]);
  const sample = sampleText === undefined ? undefined : { size: Number(sampleText), seed: seedText ?? randomBytes(8).toString('hex') };
  return { framework: framework as Framework, from, to, projectId: project, sample };
}

/**
 * Evidence packages for auditors: the population of changes of a period, its exceptions, the framework's
 * control results, the chain's verification, certificates, and a sample, as one zip with a hash manifest.
 * Built from compliance's own audit trail only. Generating one is recorded like any other read of the trail.
 */
@Controller('v1/compliance/reports')
@Roles('auditor')
export class ReportsHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
    private readonly checkpointer: AuditCheckpointer,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
  ) {}

  @Get()
  async report(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response, @Query() query: Record<string, unknown>): Promise<void> {
    const q = parseReportQuery(query);
    await this.recordRead(principal, req);
    const requestIds = await evidence.requestIdsInPeriod(this.dataSource, q.from, q.to, q.projectId, MAX_POPULATION + 1);
    if (requestIds.length > MAX_POPULATION) {
      throw new ProblemError(422, 'population-too-large', 'Unprocessable Content', `more than ${MAX_POPULATION} changes in the period: choose a shorter period or one project`);
    }
    const stored = await evidence.entriesOf(this.dataSource, requestIds);
    const entries = await personalValues.reveal(this.dataSource, stored);
    const population = buildPopulation(entries);
    const security = await evidence.securityInPeriod(this.dataSource, q.from, q.to, 1000);
    const chain = await verifyAuditChain(this.dataSource, this.checkpointer);
    const coverage = await classificationCoverage(this.dataSource);
    const period: PeriodEvidence = {
      period: { from: q.from, to: q.to },
      ...(q.projectId ? { projectId: q.projectId } : {}),
      population,
      chain,
      refusedAccess: security.refused,
      auditReads: security.auditReads,
      lifecycle: {
        ...(this.policy.retention ? { retentionDays: { personal: this.policy.retention.personal_days, confidential: this.policy.retention.confidential_days, operational: this.policy.retention.operational_days } } : {}),
        classifiedFields: coverage.classified,
        unclassifiedFields: coverage.unclassified,
      },
    };
    const selectedPacks = compliancePacksOf(this.policy.projects, this.policy.compliance.packs, q.projectId) ?? DEFAULT_PACKS;
    const report = buildEvidenceReport({
      framework: q.framework,
      selectedPacks,
      period,
      generatedAt: new Date().toISOString(),
      generatedBy: principal.subject,
      ...(q.sample ? { sample: q.sample } : {}),
    });
    const sampled = new Set(report.sample?.requestIds ?? []);
    // As stored (verifiable by their hashes), and as read (personal values in place of their commitments).
    const sampledTrails = new Map([...sampled].map((id) => [id, { stored: stored.filter((e) => e.correlationId === id), revealed: entries.filter((e) => e.correlationId === id) }]));
    const checkpoints = this.checkpointer.evidence();
    const { zip } = await buildEvidencePackage({
      report,
      sampledTrails,
      checkpoints: checkpoints?.checkpoints ?? [],
      checkpointPublicKeysPem: (checkpoints?.trustedKeys ?? []).map((k) => k.export({ type: 'spki', format: 'pem' }).toString()),
    });
    res.status(200);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', `attachment; filename="agf-${q.framework.toLowerCase()}-report.zip"`);
    res.setHeader('X-AGF-Report-Changes', String(report.summary.changes));
    res.setHeader('X-AGF-Report-Controls', `pass=${report.summary.controls['pass']};fail=${report.summary.controls['fail']};not_applicable=${report.summary.controls['not_applicable']}`);
    res.setHeader('X-AGF-Audit-Chain', report.auditChain.valid ? 'valid' : 'broken');
    if (report.sample) res.setHeader('X-AGF-Sample-Seed', report.sample.seed);
    res.end(zip);
  }

  /** Correlated with nothing but itself, like every read of the trail (AuditHttpController). */
  private async recordRead(principal: Principal, req: Request): Promise<void> {
    await this.publisher.transaction(async (tx) => {
      tx.emit({
        name: 'security.audit.read',
        correlationId: randomUUID(),
        data: { actor: actorOf(principal, 'http'), target: req.originalUrl.slice(0, 2048), readAt: new Date().toISOString() },
      });
    });
  }
}
