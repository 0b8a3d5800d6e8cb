import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit-chain';
import { type ChangeException, type ChangeRecord, type EvidenceRef, exceptionsOf } from './population';
import { type ControlResult, evaluatePack, type Framework, type PeriodEvidence } from './rule-packs';

/** A reproducible random sample: the same seed and population always give the same changes. */
export function sampleChanges(population: readonly ChangeRecord[], size: number, seed: string): ChangeRecord[] {
  // Ordered by id first, so the sample does not depend on how the population happened to be listed.
  const pool = [...population].sort((a, b) => a.requestId.localeCompare(b.requestId));
  const random = seededRandom(seed);
  const count = Math.min(size, pool.length);
  // A partial Fisher–Yates shuffle: the first `count` places end up a uniform sample.
  for (let i = 0; i < count; i += 1) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}

/** mulberry32 seeded from the SHA-256 of the seed text: small, fast and fully determined by the seed. */
function seededRandom(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32BE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A decision certificate: what was decided for a change, by whom, on which evidence, with the hash of the
 * audit entry that recorded it. `attestationCheck` lists the predicate fields that must equal those of the
 * signed decision attestation (intake's DSSE envelope) for the certificate to be confirmed by it.
 */
export interface DecisionCertificate {
  certificateVersion: 1;
  requestId: string;
  projectId: string;
  artifact: string;
  requester: string;
  outcome: string;
  approved: boolean;
  tierLevel: number;
  riskScore: number;
  decidedAt: string;
  rationale: string;
  emergency: { approvedBy: string; justification: string } | null;
  escalation: { level: number; reason: string; resolvedBy: string | null } | null;
  approvers: Array<{ expertId: string; expertType: string; expertKind: string; decision: string; identity: string | null; completedAt: string }>;
  auditEntry: EvidenceRef;
  attestationCheck: { requestId: string; outcome: string; approved: boolean; tierLevel: number; decidedAt: string };
  /** SHA-256 of the canonical JSON of everything above. */
  certificateDigest: string;
}

export function decisionCertificate(change: ChangeRecord): DecisionCertificate | undefined {
  const d = change.decision;
  if (!d) return undefined;
  const body = {
    certificateVersion: 1 as const,
    requestId: change.requestId,
    projectId: change.projectId,
    artifact: `${change.componentName}@${change.version}`,
    requester: change.requester,
    outcome: d.outcome,
    approved: d.approved,
    tierLevel: d.tierLevel,
    riskScore: d.riskScore,
    decidedAt: d.decidedAt,
    rationale: d.rationale,
    emergency: d.emergency ? { approvedBy: d.emergency.approvedBy, justification: d.emergency.justification } : null,
    escalation: d.escalation ? { level: d.escalation.level, reason: d.escalation.reason, resolvedBy: d.escalation.resolvedBy } : null,
    approvers: change.approvals.map((a) => ({ expertId: a.expertId, expertType: a.expertType, expertKind: a.expertKind, decision: a.decision, identity: a.identity?.subject ?? null, completedAt: a.completedAt })),
    auditEntry: d.evidence,
    attestationCheck: { requestId: change.requestId, outcome: d.outcome, approved: d.approved, tierLevel: d.tierLevel, decidedAt: d.decidedAt },
  };
  return { ...body, certificateDigest: createHash('sha256').update(canonicalJson(body)).digest('hex') };
}

/** Whether a certificate agrees with the predicate of a signed decision attestation (whose signature is checked separately). */
export function certificateMatchesAttestation(certificate: DecisionCertificate, predicate: Record<string, unknown>): { matches: boolean; differences: string[] } {
  const differences = Object.entries(certificate.attestationCheck)
    .filter(([key, value]) => predicate[key] !== value)
    .map(([key, value]) => `${key}: certificate ${JSON.stringify(value)}, attestation ${JSON.stringify(predicate[key])}`);
  return { matches: differences.length === 0, differences };
}

export interface EvidenceReport {
  reportVersion: 1;
  framework: Framework;
  pack: string;
  period: { from: string; to: string };
  projectId: string | null;
  generatedAt: string;
  generatedBy: string;
  summary: { changes: number; decided: number; approved: number; blocked: number; undecided: number; emergencyChanges: number; escalated: number; refusedSelfApprovals: number; exceptions: number; controls: Record<string, number> };
  auditChain: PeriodEvidence['chain'];
  controls: ControlResult[];
  exceptions: ChangeException[];
  sample: { seed: string; size: number; requestIds: string[] } | null;
  population: ChangeRecord[];
}

export function buildEvidenceReport(input: {
  framework: Framework;
  selectedPacks: readonly string[];
  period: PeriodEvidence;
  generatedAt: string;
  generatedBy: string;
  sample?: { size: number; seed: string };
}): EvidenceReport {
  const { population } = input.period;
  const { pack, results } = evaluatePack(input.framework, input.selectedPacks, input.period);
  const exceptions = exceptionsOf(population);
  const sampled = input.sample ? sampleChanges(population, input.sample.size, input.sample.seed) : undefined;
  const count = (status: string) => results.filter((r) => r.status === status).length;
  return {
    reportVersion: 1,
    framework: input.framework,
    pack,
    period: input.period.period,
    projectId: input.period.projectId ?? null,
    generatedAt: input.generatedAt,
    generatedBy: input.generatedBy,
    summary: {
      changes: population.length,
      decided: population.filter((c) => c.decision).length,
      approved: population.filter((c) => c.decision?.approved).length,
      blocked: population.filter((c) => c.decision && !c.decision.approved).length,
      undecided: population.filter((c) => !c.decision).length,
      emergencyChanges: population.filter((c) => c.decision?.emergency).length,
      escalated: population.filter((c) => c.escalations.length).length,
      refusedSelfApprovals: exceptions.filter((e) => e.kind === 'refused-self-approval').length,
      exceptions: exceptions.length,
      controls: { pass: count('pass'), fail: count('fail'), not_applicable: count('not_applicable') },
    },
    auditChain: input.period.chain,
    controls: results,
    exceptions,
    sample: input.sample && sampled ? { seed: input.sample.seed, size: input.sample.size, requestIds: sampled.map((c) => c.requestId) } : null,
    population: [...population],
  };
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  // Quoted always; a leading formula character is neutralised so a spreadsheet never runs it.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return [header.map(csvCell).join(','), ...rows.map((row) => row.map(csvCell).join(','))].join('\r\n') + '\r\n';
}

export const POPULATION_CSV_HEADER = [
  'request_id', 'project_id', 'component', 'version', 'requester', 'submitted_at', 'risk_score', 'tier', 'approvals', 'verified_approvers',
  'refused_answers', 'escalations', 'decision', 'approved', 'decided_at', 'emergency', 'outcome', 'audit_sequences',
] as const;

export function populationCsv(population: readonly ChangeRecord[]): string {
  return toCsv(
    POPULATION_CSV_HEADER,
    population.map((c) => [
      c.requestId, c.projectId, c.componentName, c.version, c.requester, c.submittedAt, c.risk?.overallScore ?? '', c.tierLevel ?? '',
      c.approvals.map((a) => `${a.expertId}:${a.decision}`).join(' '),
      c.approvals.filter((a) => a.identity).map((a) => a.identity!.subject).join(' '),
      c.refusedAnswers.map((r) => `${r.by ?? r.expertId ?? '?'}:${r.code}`).join(' '),
      c.escalations.map((e) => `L${e.level}:${e.reason}`).join(' '),
      c.decision?.outcome ?? '', c.decision ? String(c.decision.approved) : '', c.decision?.decidedAt ?? '',
      c.decision?.emergency ? `break-glass by ${c.decision.emergency.approvedBy}` : '',
      c.outcome?.status ?? '', c.trail.map((t) => t.sequence).join(' '),
    ]),
  );
}

export function controlsCsv(results: readonly ControlResult[]): string {
  return toCsv(['framework', 'control', 'title', 'pack', 'status', 'reasons', 'evidence_sequences'], results.map((r) => [r.framework, r.control, r.title, r.pack, r.status, r.reasons.join(' | '), r.evidence.map((e) => e.sequence).join(' ')]));
}

export function exceptionsCsv(exceptions: readonly ChangeException[]): string {
  return toCsv(['request_id', 'kind', 'detail', 'evidence_sequences'], exceptions.map((e) => [e.requestId, e.kind, e.detail, e.evidence.map((r) => r.sequence).join(' ')]));
}
