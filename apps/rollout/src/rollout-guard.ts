import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CriterionResult, PayloadOf, RolloutPhase, RolloutStatus, RolloutVerdict, RolloutView, SignalInput } from '@agf/contracts';
import { type Transaction, TransactionalPublisher } from '@agf/messaging';
import { POLICY, ProblemError } from '@agf/platform';
import { DEFAULT_ROLLOUT_POLICY, type GovernancePolicy, type RolloutGuardSettings, rolloutSettings } from '@agf/policy';
import { afterVerdict, applyReport, criteriaOf, evaluate, isEmergency, isTerminal, liveRisk, type Reading, rollbackTimeline } from '@agf/rollout-domain';
import type { Actor } from '@agf/contracts';
import { DataSource } from 'typeorm';
import { type RolloutRow, rolloutRepository as repo, type StoredDecision, type StoredRequest } from './rollout.repository';
import { RolloutMetrics } from './rollout-metrics';

/** Readings taken this far in the future are refused: a clock that far off would make a stale reading look fresh. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** What the caller may see of a rollout's request, for the access checks at the edge. */
export interface RolloutSubject {
  projectId: string;
  decision?: StoredDecision;
  request?: StoredRequest;
  rollout?: RolloutRow;
}

/**
 * The rollout guard's use cases: reports, signals and evaluations, each one transaction with the events it causes
 * (outbox). An evaluation checks the decision's criteria against the freshest readings, publishes a re-assessment
 * revision, pauses a rollout after too many inconclusive verdicts, and on a failing one requests the rollback,
 * records the incident as the request's outcome and starts the rollback's SLA timer.
 */
@Injectable()
export class RolloutGuard {
  private readonly logger = new Logger('rollout');

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly metrics: RolloutMetrics,
  ) {}

  get rolloutPolicy() {
    return this.policy.rollout ?? DEFAULT_ROLLOUT_POLICY;
  }

  settingsOf(emergency: boolean): RolloutGuardSettings {
    return rolloutSettings(this.policy.rollout, emergency);
  }

  /** The request as far as this service knows it; undefined when it knows nothing of it. */
  async subjectOf(requestId: string, manager = this.dataSource.manager): Promise<RolloutSubject | undefined> {
    const [decision, request, rollout] = await Promise.all([repo.decision(manager, requestId), repo.request(manager, requestId), repo.rollout(manager, requestId)]);
    const projectId = rollout?.projectId ?? decision?.projectId ?? request?.projectId;
    return projectId ? { projectId, decision, request, rollout } : undefined;
  }

  /** Applies a reported phase; `authorise` runs inside the transaction, once the request's project is known. */
  async report(requestId: string, phase: RolloutPhase, percent: number | undefined, actor: Actor, authorise: (subject: RolloutSubject) => void): Promise<RolloutView> {
    await this.publisher.transaction(async (tx) => {
      const m = tx.manager;
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`rollout:${requestId}`]);
      const subject = await this.subjectOf(requestId, m);
      if (!subject) throw notFound(requestId);
      authorise(subject);
      const now = new Date();
      const rollout = subject.rollout ? await repo.rollout(m, requestId, true) : undefined;
      if (!rollout) {
        if (phase !== 'started') throw new ProblemError(409, 'not-started', 'Conflict', `report phase "started" before "${phase}"`);
        const decision = subject.decision;
        if (!decision) throw new ProblemError(409, 'not-decided', 'Conflict', 'this request has no decision yet: a rollout starts only after an approval');
        // A shadow-mode project's deployments go ahead whatever AGF decided (docs/integrations.md): guarded all the same.
        const shadowed = !decision.approved && decision.body.shadow === true;
        if (!decision.approved && !shadowed) {
          throw new ProblemError(409, 'not-approved', 'Conflict', `the request was not approved (${decision.outcome}): its rollout is refused`);
        }
        const emergency = isEmergency(decision.body, subject.request?.metadata);
        const settings = this.settingsOf(emergency);
        await repo.insertRollout(m, { requestId, projectId: decision.projectId, componentName: decision.componentName, version: decision.version, percent: percent ?? null, emergency }, new Date(now.getTime() + settings.evaluation_interval_seconds * 1000));
        this.progressed(tx, { requestId, projectId: decision.projectId, componentName: decision.componentName, version: decision.version, emergency }, 'started', 'in-progress', percent ?? null, now, actor, shadowed ? `shadow mode: AGF would have refused this rollout (${decision.outcome})` : undefined);
        this.logger.log(`rollout of ${decision.projectId}/${decision.componentName} ${decision.version} started (request ${requestId}${emergency ? ', emergency' : ''})`);
        return;
      }
      const result = applyReport(rollout.status, phase);
      if (!result.ok) throw new ProblemError(409, result.code, 'Conflict', result.detail);
      if (!result.changed && percent === undefined) return;
      await repo.updateProgress(m, requestId, result.status, percent ?? null, result.resumed);
      this.progressed(tx, rollout, phase, result.status, percent ?? rollout.percent, now, actor);
      if (result.rollbackConfirmed) {
        const done = await repo.completeRollback(m, requestId, phase);
        if (done) {
          const durationSeconds = (now.getTime() - new Date(done.requestedAt).getTime()) / 1000;
          tx.emit({
            name: 'rollback.completed',
            correlationId: requestId,
            data: {
              requestId,
              projectId: rollout.projectId,
              componentName: rollout.componentName,
              confirmedBy: phase as 'aborted' | 'rolled-back',
              requestedAt: new Date(done.requestedAt).toISOString(),
              completedAt: now.toISOString(),
              durationSeconds,
              withinTarget: now.getTime() <= new Date(done.dueAt).getTime(),
            },
          });
        }
      }
    });
    return (await this.view(requestId))!;
  }

  /** Stores a pushed reading; a reading that fails a criterion is evaluated at once (the 60-second rollback does not wait for the next tick). */
  async signal(requestId: string, input: SignalInput, authorise: (subject: RolloutSubject) => void): Promise<{ accepted: true; verdict: RolloutVerdict | null; status: RolloutStatus }> {
    const now = new Date();
    const at = input.at ? new Date(input.at) : now;
    if (at.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the reading is from the future', [{ path: 'at', message: 'more than 5 minutes ahead of AGF\'s clock' }]);
    }
    return this.publisher.transaction(async (tx) => {
      const m = tx.manager;
      const subject = await this.subjectOf(requestId, m);
      if (!subject) throw notFound(requestId);
      authorise(subject);
      const rollout = await repo.rollout(m, requestId, true);
      if (!rollout) throw new ProblemError(409, 'not-started', 'Conflict', 'report the rollout as started before sending signals');
      if (isTerminal(rollout.status)) throw new ProblemError(409, 'finished', 'Conflict', `the rollout is ${rollout.status}`);
      await repo.insertSignals(m, requestId, [{ name: input.name, value: input.value, unit: input.unit ?? null, at: at.toISOString(), source: 'pushed' }]);
      if (rollout.status === 'rollback-requested') return { accepted: true as const, verdict: 'failing' as const, status: rollout.status };
      const preview = await this.evaluationOf(m, rollout, now);
      if (preview?.evaluation.verdict === 'failing') {
        const verdict = await this.evaluateLocked(tx, rollout, now);
        return { accepted: true as const, verdict, status: 'rollback-requested' as const };
      }
      return { accepted: true as const, verdict: rollout.verdict, status: rollout.status };
    });
  }

  /** Evaluates one due rollout (the loop's work), storing the readings pulled for it first. */
  async evaluateDue(requestId: string, pulled: Reading[]): Promise<void> {
    await this.publisher.transaction(async (tx) => {
      const rollout = await repo.claimDue(tx.manager, requestId);
      if (!rollout) return;
      await repo.insertSignals(tx.manager, requestId, pulled);
      await this.evaluateLocked(tx, rollout, new Date());
    });
  }

  private async evaluationOf(m: Transaction['manager'], rollout: RolloutRow, now: Date) {
    const decision = await repo.decision(m, rollout.requestId);
    if (!decision) return undefined;
    const settings = this.settingsOf(rollout.emergency);
    const criteria = criteriaOf(decision.body, settings.threshold_factor);
    const readings = await repo.latestReadings(m, rollout.requestId, new Date(now.getTime() - settings.signal_max_age_seconds * 1000));
    return { decision, settings, evaluation: evaluate(criteria, readings, now, settings.signal_max_age_seconds) };
  }

  /** One evaluation of a locked rollout; returns its verdict. */
  private async evaluateLocked(tx: Transaction, rollout: RolloutRow, now: Date): Promise<RolloutVerdict> {
    const m = tx.manager;
    const found = await this.evaluationOf(m, rollout, now);
    if (!found) throw new Error(`request ${rollout.requestId} has a rollout but no decision`);
    const { decision, settings, evaluation } = found;
    const request = await repo.request(m, rollout.requestId);
    const preDeploymentScore = request?.riskScore ?? decision.body.riskScore;
    const step = afterVerdict(rollout.status, rollout.consecutiveInconclusive, evaluation.verdict, settings.inconclusive_limit);
    const live = liveRisk(preDeploymentScore, evaluation);
    const revision = rollout.revision + 1;
    const criteria: CriterionResult[] = evaluation.criteria;
    const status: RolloutStatus = step.rollback ? 'rollback-requested' : step.pause ? 'paused' : rollout.status;
    await repo.recordEvaluation(m, rollout.requestId, {
      status,
      revision,
      verdict: evaluation.verdict,
      liveScore: live.score,
      consecutiveInconclusive: step.consecutiveInconclusive,
      criteria,
      nextEvaluationAt: new Date(now.getTime() + settings.evaluation_interval_seconds * 1000),
    });
    tx.emit({
      name: 'rollout.evaluated',
      correlationId: rollout.requestId,
      data: {
        requestId: rollout.requestId,
        projectId: rollout.projectId,
        componentName: rollout.componentName,
        revision,
        verdict: evaluation.verdict,
        preDeploymentScore,
        liveScore: live.score,
        riskFactors: live.factors,
        criteria,
        consecutiveInconclusive: step.consecutiveInconclusive,
        emergency: rollout.emergency,
        evaluatedAt: now.toISOString(),
      },
    });
    this.metrics.evaluations.inc({ verdict: evaluation.verdict, emergency: String(rollout.emergency) });
    if (step.pause) {
      this.progressed(tx, rollout, 'paused', 'paused', rollout.percent, now, undefined, `${step.consecutiveInconclusive} inconclusive evaluations in a row (limit ${settings.inconclusive_limit})`);
      this.metrics.pauses.inc({ project: rollout.projectId });
      this.logger.warn(`rollout of request ${rollout.requestId} paused: ${step.consecutiveInconclusive} inconclusive evaluations in a row`);
    }
    if (step.rollback) await this.requestRollback(tx, rollout, decision, request, evaluation.failed, evaluation.failingSignalAt ?? now.toISOString(), now);
    return evaluation.verdict;
  }

  private async requestRollback(tx: Transaction, rollout: RolloutRow, decision: StoredDecision, request: StoredRequest | undefined, failed: CriterionResult[], signalAt: string, now: Date): Promise<void> {
    const reason = failed.map((f) => `${f.signal} = ${f.observed}${f.unit === '%' ? '%' : f.unit ? ` ${f.unit}` : ''} breaks "${f.metric} ${f.comparison} ${f.threshold}${f.unit === '%' ? '%' : f.unit ? ` ${f.unit}` : ''}"`).join('; ');
    const { warnAt, dueAt } = rollbackTimeline(now, this.rolloutPolicy.rollback_target_minutes);
    const fresh = await repo.insertRollback(tx.manager, { requestId: rollout.requestId, projectId: rollout.projectId, componentName: rollout.componentName, reason, signalAt: new Date(signalAt), requestedAt: now, warnAt, dueAt });
    if (!fresh) return;
    const plan = decision.body.rollbackPlan;
    const requested: PayloadOf<'rollback.requested'> = {
      requestId: rollout.requestId,
      projectId: rollout.projectId,
      componentName: rollout.componentName,
      version: rollout.version,
      previousVersion: plan?.previousVersion ?? null,
      reason,
      failedCriteria: failed,
      steps: plan?.steps ?? [],
      requester: request?.requester ?? 'unknown',
      emergency: rollout.emergency,
      signalAt,
      requestedAt: now.toISOString(),
      dueAt: dueAt.toISOString(),
    };
    tx.emit({ name: 'rollback.requested', correlationId: rollout.requestId, data: requested });
    // The incident is the request's outcome: learning counts it, and the component's next request scores higher.
    tx.emit({
      name: 'deployment.outcome',
      correlationId: rollout.requestId,
      data: {
        requestId: rollout.requestId,
        projectId: rollout.projectId,
        componentName: rollout.componentName,
        version: rollout.version,
        status: 'rolled_back',
        reportedAt: now.toISOString(),
        details: { source: 'agf-rollout-guard', incident: { reason, failedCriteria: failed, signalAt, rollbackRequestedAt: now.toISOString() } },
      },
    });
    const reactionSeconds = Math.max(0, (now.getTime() - Date.parse(signalAt)) / 1000);
    this.metrics.rollbacks.inc({ project: rollout.projectId });
    this.metrics.rollbackReaction.observe(reactionSeconds);
    this.logger.warn(`rollback requested for ${rollout.projectId}/${rollout.componentName} ${rollout.version} (request ${rollout.requestId}): ${reason}`);
  }

  /** Fires due rollback SLA timers (warning at 75 %, breach at the target); true when a full batch was worked. */
  async fireRollbackTimers(): Promise<boolean> {
    const batch = 16;
    return this.publisher.transaction(async (tx) => {
      const due = await repo.claimDueRollbackTimers(tx.manager, batch);
      const now = new Date();
      for (const rollback of due) {
        const stage = new Date(rollback.dueAt).getTime() <= now.getTime() ? 'breached' : 'warning';
        await repo.markRollbackTimer(tx.manager, rollback.requestId, stage);
        tx.emit({
          name: 'rollback.escalated',
          correlationId: rollback.requestId,
          data: {
            requestId: rollback.requestId,
            projectId: rollback.projectId,
            componentName: rollback.componentName,
            stage,
            requestedAt: new Date(rollback.requestedAt).toISOString(),
            dueAt: new Date(rollback.dueAt).toISOString(),
            firedAt: now.toISOString(),
          },
        });
        this.logger.warn(`rollback of request ${rollback.requestId} not confirmed: ${stage === 'breached' ? 'the target passed' : '75 % of the target passed'}`);
      }
      return due.length === batch;
    });
  }

  async view(requestId: string): Promise<RolloutView | undefined> {
    const subject = await this.subjectOf(requestId);
    if (!subject) return undefined;
    const { decision, rollout } = subject;
    const emergency = rollout?.emergency ?? (decision ? isEmergency(decision.body, subject.request?.metadata) : false);
    const settings = this.settingsOf(emergency);
    const readings = rollout ? await repo.latestReadings(this.dataSource.manager, requestId, new Date(0)) : [];
    const rollback = rollout ? await repo.rollback(this.dataSource.manager, requestId) : undefined;
    const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
    return {
      requestId,
      projectId: subject.projectId,
      componentName: rollout?.componentName ?? decision?.componentName ?? subject.request!.componentName,
      version: rollout?.version ?? decision?.version ?? subject.request!.version,
      approved: decision?.approved ?? false,
      status: rollout?.status ?? 'not-started',
      percent: rollout?.percent ?? null,
      emergency,
      evaluationIntervalSeconds: settings.evaluation_interval_seconds,
      verdict: rollout?.verdict ?? null,
      revision: rollout?.revision ?? 0,
      liveScore: rollout?.liveScore ?? null,
      consecutiveInconclusive: rollout?.consecutiveInconclusive ?? 0,
      criteria: rollout?.criteria ?? [],
      signals: readings.map((r) => ({ name: r.name, value: r.value, unit: r.unit, at: r.at, source: r.source })),
      rollback: rollback
        ? {
            reason: rollback.reason,
            requestedAt: iso(rollback.requestedAt)!,
            dueAt: iso(rollback.dueAt)!,
            completedAt: iso(rollback.completedAt),
            withinTarget: rollback.completedAt ? new Date(rollback.completedAt).getTime() <= new Date(rollback.dueAt).getTime() : null,
          }
        : null,
      startedAt: iso(rollout?.startedAt),
      updatedAt: iso(rollout?.updatedAt),
    };
  }

  private progressed(
    tx: Transaction,
    r: Pick<RolloutRow, 'requestId' | 'projectId' | 'componentName' | 'version' | 'emergency'>,
    phase: RolloutPhase | 'paused',
    status: RolloutStatus,
    percent: number | null,
    now: Date,
    actor?: Actor,
    reason?: string,
  ): void {
    tx.emit({
      name: 'rollout.progressed',
      correlationId: r.requestId,
      data: {
        requestId: r.requestId,
        projectId: r.projectId,
        componentName: r.componentName,
        version: r.version,
        phase,
        status,
        percent,
        emergency: r.emergency,
        ...(reason ? { reason } : {}),
        ...(actor ? { actor } : {}),
        at: now.toISOString(),
      },
    });
  }
}

export const notFound = (requestId: string): ProblemError => new ProblemError(404, 'not-found', 'Not Found', `no deployment request ${requestId}`);
