import { type ChangeRecord, type EvidenceRef, isIndependentVerifiedApproval } from './population';

export type ControlStatus = 'pass' | 'fail' | 'not_applicable';
export type Framework = 'SOC2' | 'ISO27001' | 'GDPR';
export const FRAMEWORKS: readonly Framework[] = ['SOC2', 'ISO27001', 'GDPR'];

/** What a pack's controls are judged on: the period's changes and what the period's trail says about the system. */
export interface PeriodEvidence {
  period: { from: string; to: string };
  projectId?: string;
  population: readonly ChangeRecord[];
  chain: {
    valid: boolean;
    entries: number;
    firstBrokenEntry?: { sequence: number; reason: string };
    /** undefined: no signed checkpoints configured. */
    checkpoints?: { verified: number; latest?: { sequence: number; signedAt: string }; firstBadCheckpoint?: { sequence: number; reason: string } };
  };
  /** Refused credentials and actions (`security.refused`) recorded in the period. */
  refusedAccess: readonly EvidenceRef[];
  /** Reads of the audit trail (`security.audit.read`) recorded in the period. */
  auditReads: number;
  lifecycle: {
    /** Retention per data class, days; undefined when none is configured. */
    retentionDays?: Partial<Record<'personal' | 'confidential' | 'operational', number>>;
    /** Stored fields the classification map covers, and those it misses. */
    classifiedFields: number;
    unclassifiedFields: readonly string[];
  };
}

export interface ControlResult {
  framework: Framework;
  control: string;
  title: string;
  pack: string;
  status: ControlStatus;
  reasons: string[];
  evidence: EvidenceRef[];
}

interface PackControl {
  control: string;
  title: string;
  evaluate(period: PeriodEvidence): Pick<ControlResult, 'status' | 'reasons' | 'evidence'>;
}

export interface RulePack {
  /** `<name>@<version>`: a report names the version it judged by, so an old report can be re-run as it was. */
  id: string;
  name: string;
  version: number;
  framework: Framework;
  title: string;
  controls: readonly PackControl[];
}

const decided = (population: readonly ChangeRecord[]) => population.filter((c) => c.decision !== null);
const MAX_REASONS = 50;

/** One reason per failing change (bounded), and a summary first. */
function judge(summaryPass: string, failures: Array<{ reason: string; evidence: EvidenceRef[] }>, notes: string[] = [], passEvidence: EvidenceRef[] = []) {
  if (failures.length) {
    return {
      status: 'fail' as const,
      reasons: [`${failures.length} failure(s)`, ...failures.slice(0, MAX_REASONS).map((f) => f.reason), ...(failures.length > MAX_REASONS ? [`… and ${failures.length - MAX_REASONS} more`] : []), ...notes],
      evidence: failures.flatMap((f) => f.evidence),
    };
  }
  return { status: 'pass' as const, reasons: [summaryPass, ...notes], evidence: passEvidence };
}

const notApplicable = (reason: string) => ({ status: 'not_applicable' as const, reasons: [reason], evidence: [] });

/** Change management: every approved change was approved by a verified person other than its requester, or was an emergency change approved after the fact. */
function changeApprovalControl(period: PeriodEvidence) {
  const changes = decided(period.population);
  if (!changes.length) return notApplicable('no change was decided in the period');
  const failures: Array<{ reason: string; evidence: EvidenceRef[] }> = [];
  const notes: string[] = [];
  const standardChanges: string[] = [];
  for (const change of changes) {
    const d = change.decision!;
    if (!d.approved) continue;
    if (d.emergency) {
      const review = change.approvals.find((a) => a.assignmentId === d.emergency!.afterTheFactAssignmentId);
      if (review && isIndependentVerifiedApproval(change, review)) notes.push(`${change.requestId}: emergency change (break-glass by ${d.emergency.approvedBy}), approved after the fact by ${review.identity!.subject}`);
      else failures.push({ reason: `${change.requestId}: emergency change (break-glass by ${d.emergency.approvedBy}) ${review ? `not approved after the fact by a verified person other than the requester (${review.decision})` : 'without its after-the-fact review'}`, evidence: [d.evidence] });
      continue;
    }
    if (d.tierLevel === 0) {
      // No governance trigger fired: a standard change, pre-approved by the governance policy (no review was due).
      if (!change.assignments.length && !change.approvals.length) {
        standardChanges.push(change.requestId);
        continue;
      }
      if (!change.approvals.some((a) => a.decision !== 'reject' && a.expertId !== change.requester && a.identity?.subject !== change.requester)) failures.push({ reason: `${change.requestId}: approved (tier 0) without an approval by someone other than the requester`, evidence: [d.evidence] });
      continue;
    }
    if (!change.approvals.some((a) => isIndependentVerifiedApproval(change, a))) {
      failures.push({ reason: `${change.requestId}: approved (tier ${d.tierLevel}) without the approval of a verified person other than the requester ${change.requester}`, evidence: [d.evidence, ...change.approvals.map((a) => a.evidence)] });
    }
  }
  if (standardChanges.length) notes.push(`${standardChanges.length} standard change(s) approved by the governance policy (no trigger fired, so no review was due)`);
  const refused = period.population.flatMap((c) => c.refusedAnswers.filter((r) => r.code === 'separation-of-duties').map((r) => ({ c, r })));
  if (refused.length) notes.push(`${refused.length} self-approval(s) refused (separation of duties enforced): ${refused.map(({ c }) => c.requestId).join(', ')}`);
  const blocked = changes.filter((c) => !c.decision!.approved).length;
  return judge(
    `${changes.length - blocked} approved change(s) each approved by a verified person other than the requester (or tier 0, or an emergency change approved after the fact); ${blocked} blocked`,
    failures,
    notes,
    [...changes.map((c) => c.decision!.evidence), ...refused.map(({ r }) => r.evidence)],
  );
}

/** Change record: version, listed changes, and a risk assessment before the decision. */
function changeRecordControl(period: PeriodEvidence) {
  const changes = decided(period.population);
  if (!changes.length) return notApplicable('no change was decided in the period');
  const failures = changes.flatMap((c) => {
    const problems: string[] = [];
    if (!c.version) problems.push('no version');
    if (c.changes === 0) problems.push('no changes listed');
    if (!c.risk) problems.push('no risk assessment');
    else if (c.risk.evidence.sequence > c.decision!.evidence.sequence && !c.decision!.emergency) problems.push('risk assessed only after the decision');
    return problems.length ? [{ reason: `${c.requestId}: ${problems.join(', ')}`, evidence: [c.decision!.evidence] }] : [];
  });
  return judge(`${changes.length} decided change(s), each recorded with its version, changes and a risk assessment before its decision`, failures, [], changes.flatMap((c) => (c.risk ? [c.risk.evidence] : [])));
}

/** Logical access: approvals come from verified identities, and refusals are recorded. */
function accessControl(period: PeriodEvidence) {
  const approvals = period.population.flatMap((c) => c.approvals.map((a) => ({ c, a })));
  if (!approvals.length && !period.refusedAccess.length) return notApplicable('no review answered and no access refused in the period');
  const failures = approvals
    .filter(({ a }) => a.expertKind === 'human' && a.identity === null)
    .map(({ c, a }) => ({ reason: `${c.requestId}: a human review for ${a.expertId} without a verified identity`, evidence: [a.evidence] }));
  const selfApprovals = approvals.filter(({ c, a }) => a.identity?.subject === c.requester || a.expertId === c.requester);
  failures.push(...selfApprovals.map(({ c, a }) => ({ reason: `${c.requestId}: review accepted from the requester ${c.requester}`, evidence: [a.evidence] })));
  const refusedSelf = period.population.reduce((n, c) => n + c.refusedAnswers.filter((r) => r.code === 'separation-of-duties').length, 0);
  return judge(
    `${approvals.filter(({ a }) => a.identity).length} review(s) answered by verified identities; ${period.refusedAccess.length} refused access attempt(s) recorded; ${refusedSelf} self-approval(s) refused`,
    failures,
    [],
    [...period.refusedAccess.slice(0, 100), ...approvals.slice(0, 100).map(({ a }) => a.evidence)],
  );
}

/** Logging: the trail of the period is complete and its hash chain verifies (against signed checkpoints where configured). */
function loggingControl(period: PeriodEvidence) {
  const { chain } = period;
  const failures: Array<{ reason: string; evidence: EvidenceRef[] }> = [];
  if (!chain.valid) failures.push({ reason: `audit chain does not verify: ${chain.firstBrokenEntry?.reason ?? chain.checkpoints?.firstBadCheckpoint?.reason ?? 'unknown'}`, evidence: [] });
  for (const c of period.population) {
    const missing = [!c.trail.some((t) => t.eventType === 'io.agf.deployment.requested.v1') && 'its request', !c.risk && 'its risk assessment'].filter(Boolean);
    if (c.decision && missing.length) failures.push({ reason: `${c.requestId}: trail lacks ${missing.join(' and ')}`, evidence: [c.decision.evidence] });
  }
  const checkpoints = chain.checkpoints ? `, ${chain.checkpoints.verified} signed checkpoint(s) verified` : '; no signed checkpoints are configured';
  return judge(`audit chain of ${chain.entries} entries verifies${checkpoints}; every change's trail holds its request, risk assessment and decision`, failures);
}

/** Monitoring: anomalies (SLA breaches, refused access) were detected and acted on, and the trail itself is monitored. */
function monitoringControl(period: PeriodEvidence) {
  const breached = period.population.filter((c) => c.slaBreaches > 0);
  const failures = breached
    .filter((c) => !c.decision && !c.escalations.length && c.assignments.length <= 1)
    .map((c) => ({ reason: `${c.requestId}: SLA breached with neither escalation, reassignment nor decision`, evidence: c.trail.slice(-1) }));
  if (!period.chain.valid) failures.push({ reason: 'the audit chain does not verify, so monitoring evidence cannot be relied on', evidence: [] });
  const notes = period.chain.checkpoints ? [] : ['no signed checkpoints are configured: a rewrite by a database superuser would go unnoticed'];
  return judge(
    `${breached.length} change(s) with SLA breaches, each escalated, reassigned or decided; ${period.refusedAccess.length} refused access attempt(s) and ${period.auditReads} audit read(s) recorded`,
    failures,
    notes,
    breached.flatMap((c) => c.escalations.map((e) => e.evidence)),
  );
}

const touchingPersonalData = (period: PeriodEvidence) => decided(period.population).filter((c) => c.touchesPersonalData);

/** Data protection by design: a change touching personal data is reviewed by a compliance expert before it proceeds. */
function privacyByDesignControl(period: PeriodEvidence) {
  const changes = touchingPersonalData(period);
  if (!changes.length) return notApplicable('no decided change touched personal data in the period');
  const failures = changes
    .filter((c) => c.decision!.approved && !c.decision!.emergency && !c.approvals.some((a) => a.expertType === 'compliance' && a.decision !== 'reject'))
    .map((c) => ({ reason: `${c.requestId}: touches personal data, approved without a compliance review`, evidence: [c.decision!.evidence] }));
  return judge(`${changes.length} change(s) touching personal data, each approved only with a compliance review (or blocked)`, failures, [], changes.map((c) => c.decision!.evidence));
}

/** Security of processing: changes touching personal data are risk-assessed and their evidence is integrity-protected. */
function securityOfProcessingControl(period: PeriodEvidence) {
  const changes = touchingPersonalData(period);
  if (!changes.length) return notApplicable('no decided change touched personal data in the period');
  const failures = changes.filter((c) => !c.risk).map((c) => ({ reason: `${c.requestId}: touches personal data without a risk assessment`, evidence: [c.decision!.evidence] }));
  failures.push(
    ...changes
      .filter((c) => c.controls.some((k) => k.framework === 'GDPR' && k.status === 'fail'))
      .map((c) => ({ reason: `${c.requestId}: ${c.controls.find((k) => k.framework === 'GDPR' && k.status === 'fail')!.reason}`, evidence: c.trail.filter((t) => t.eventType === 'io.agf.compliance.evaluated.v1').slice(-1) })),
  );
  if (!period.chain.valid) failures.push({ reason: 'the audit chain does not verify', evidence: [] });
  return judge(`${changes.length} change(s) touching personal data, each risk-assessed, under a verified hash chain`, failures);
}

/** Storage limitation: personal data has a retention period. */
function storageLimitationControl(period: PeriodEvidence) {
  const days = period.lifecycle.retentionDays?.personal;
  if (days === undefined) return { status: 'fail' as const, reasons: ['no retention period is configured for personal data (retention.personal_days)'], evidence: [] };
  return { status: 'pass' as const, reasons: [`personal data is kept ${days} day(s) after its change is decided, then removed or pseudonymised by the retention job`, `retention per class: ${JSON.stringify(period.lifecycle.retentionDays)}`], evidence: [] };
}

/** Records of processing: every stored field is classified in one map. */
function recordsOfProcessingControl(period: PeriodEvidence) {
  const { classifiedFields, unclassifiedFields } = period.lifecycle;
  if (unclassifiedFields.length) return { status: 'fail' as const, reasons: [`stored fields without a classification: ${unclassifiedFields.join(', ')}`], evidence: [] };
  return { status: 'pass' as const, reasons: [`${classifiedFields} stored field(s), each classified personal, confidential or operational (docs/compliance.md)`], evidence: [] };
}

export const RULE_PACKS: readonly RulePack[] = [
  {
    id: 'soc2@1', name: 'soc2', version: 1, framework: 'SOC2', title: 'SOC 2 Trust Services Criteria (2017, rev. 2022)',
    controls: [
      { control: 'CC8.1', title: 'Change management: changes are authorised, approved and recorded', evaluate: (p) => {
        const approval = changeApprovalControl(p);
        const record = changeRecordControl(p);
        if (approval.status === 'not_applicable') return approval;
        return { status: approval.status === 'fail' || record.status === 'fail' ? 'fail' : 'pass', reasons: [...approval.reasons, ...record.reasons], evidence: [...approval.evidence, ...record.evidence] };
      } },
      { control: 'CC6.1', title: 'Logical access: identities are verified and access is restricted', evaluate: accessControl },
      { control: 'CC7.2', title: 'Monitoring: anomalies are detected and acted upon', evaluate: monitoringControl },
    ],
  },
  {
    id: 'iso27001@1', name: 'iso27001', version: 1, framework: 'ISO27001', title: 'ISO/IEC 27001:2022 Annex A',
    controls: [
      { control: 'A.8.32', title: 'Change management', evaluate: (p) => {
        const record = changeRecordControl(p);
        const approval = changeApprovalControl(p);
        if (record.status === 'not_applicable') return record;
        return { status: approval.status === 'fail' || record.status === 'fail' ? 'fail' : 'pass', reasons: [...record.reasons, ...approval.reasons], evidence: [...record.evidence, ...approval.evidence] };
      } },
      { control: 'A.5.15', title: 'Access control', evaluate: accessControl },
      { control: 'A.8.15', title: 'Logging', evaluate: loggingControl },
      { control: 'A.8.16', title: 'Monitoring activities', evaluate: monitoringControl },
    ],
  },
  {
    id: 'gdpr@1', name: 'gdpr', version: 1, framework: 'GDPR', title: 'GDPR (Regulation (EU) 2016/679)',
    controls: [
      { control: 'Art.5(1)(e)', title: 'Storage limitation', evaluate: storageLimitationControl },
      { control: 'Art.25', title: 'Data protection by design and by default', evaluate: privacyByDesignControl },
      { control: 'Art.30', title: 'Records of processing activities', evaluate: recordsOfProcessingControl },
      { control: 'Art.32', title: 'Security of processing', evaluate: securityOfProcessingControl },
    ],
  },
];

/** The packs `agf-config.yaml` may name: `soc2`, `soc2@1`, … (a bare name means its latest version). */
export function resolvePack(reference: string): RulePack | undefined {
  const [name, version] = reference.toLowerCase().split('@');
  const candidates = RULE_PACKS.filter((p) => p.name === name && (version === undefined || String(p.version) === version));
  return candidates.sort((a, b) => b.version - a.version)[0];
}

export const DEFAULT_PACKS: readonly string[] = RULE_PACKS.map((p) => p.id);

/**
 * The framework's controls judged over a period by the pack the project selects. A project whose packs leave
 * the framework out gets every control of the framework's latest pack as not applicable, saying why.
 */
export function evaluatePack(framework: Framework, selectedPacks: readonly string[], period: PeriodEvidence): { pack: string; results: ControlResult[] } {
  const selected = selectedPacks.map(resolvePack).find((p) => p?.framework === framework);
  const pack = selected ?? RULE_PACKS.filter((p) => p.framework === framework).sort((a, b) => b.version - a.version)[0]!;
  const results = pack.controls.map((c) => {
    const outcome = selected ? c.evaluate(period) : notApplicable(`project ${period.projectId ?? '(all)'} does not select a ${framework} pack (selected: ${selectedPacks.join(', ') || 'none'})`);
    return { framework, control: c.control, title: c.title, pack: pack.id, ...outcome };
  });
  return { pack: pack.id, results };
}
