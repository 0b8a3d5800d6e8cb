import { randomUUID } from 'node:crypto';
import { createEvent, type EventName, type PayloadOf } from '@agf/contracts';
import { aDecision, aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { type ChainedAuditEntry, chainEntry, GENESIS_HASH } from '../audit-chain';
import { buildPopulation, exceptionsOf } from './population';
import { buildEvidenceReport, certificateMatchesAttestation, decisionCertificate, populationCsv, sampleChanges } from './report';
import { evaluatePack, type PeriodEvidence, resolvePack } from './rule-packs';

/** A chain of real envelopes, as compliance stores them. */
class Trail {
  readonly entries: ChainedAuditEntry[] = [];
  add<N extends EventName>(name: N, data: PayloadOf<N>, correlationId: string): this {
    const event = createEvent({ name, source: 'test', data, correlationId });
    const previous = this.entries.at(-1)?.entryHash ?? GENESIS_HASH;
    this.entries.push(chainEntry({ sequence: this.entries.length + 1, eventId: event.id, eventType: event.type, subject: event.subject, correlationId, occurredAt: event.time, recordedAt: event.time, payload: event }, previous));
    return this;
  }
}

const person = (subject: string) => ({ subject, channel: 'http' as const });

function review(requestId: string, projectId: string, expertId: string, decision: 'approve' | 'reject', actor?: string, expertType: 'security' | 'compliance' = 'security') {
  return {
    requestId, projectId, assignmentId: randomUUID(), expertId, expertType, expertKind: actor ? ('human' as const) : ('automated' as const), decision, comments: 'ok', conditions: [], confidence: 0.9,
    completedAt: new Date().toISOString(), ...(actor ? { actor: person(actor) } : {}),
  };
}

/** A built-in validator's approval, answered as it was assigned: it carries its assignment. */
function validatorAnswer(requestId: string, projectId: string) {
  const answer = review(requestId, projectId, 'test_validator', 'approve');
  const at = answer.completedAt;
  const assignment = {
    requestId, projectId, assignmentId: answer.assignmentId, expertId: answer.expertId, expertType: answer.expertType, expertKind: answer.expertKind,
    role: 'validator' as const, scope: [], tierLevel: 0 as const, priority: 'normal' as const, slaHours: 1, assignedAt: at, slaDueAt: at,
  };
  return { ...answer, assignment };
}

/** A change requested, assessed, reviewed and decided. */
function change(trail: Trail, opts: { approver?: string | null; approved?: boolean; tier?: 0 | 1 | 2; selfRefused?: boolean; emergency?: 'approved' | 'pending'; personal?: boolean; complianceReview?: boolean } = {}) {
  const request = aDeploymentRequest({ requester: 'rita', riskIndicators: { securitySensitive: true, testsPassed: true, userImpact: 'low', touchesPersonalData: opts.personal ?? false } });
  const { requestId, projectId } = request;
  trail.add('deployment.requested', request, requestId).add('risk.assessed', aRiskAssessment(request), requestId);
  if (opts.selfRefused) {
    trail.add('review.rejected', { requestId, projectId, assignmentId: randomUUID(), expertId: 'security_expert_human', code: 'separation-of-duties', reason: 'rita may not review her own change', rejectedAt: new Date().toISOString() }, requestId);
  }
  const approvals = [];
  if (opts.approver !== null) approvals.push(review(requestId, projectId, 'security_expert_human', opts.approved === false ? 'reject' : 'approve', opts.approver ?? 'sam'));
  if (opts.complianceReview) approvals.push(review(requestId, projectId, 'dpo_human', 'approve', 'dana', 'compliance'));
  for (const r of approvals) trail.add('review.completed', r, requestId);
  let emergency;
  if (opts.emergency) {
    const after = review(requestId, projectId, 'oversight_board_1', 'approve', 'olivia');
    emergency = { justification: 'prod down', approvedBy: person('erin'), afterTheFactReview: { assignmentId: after.assignmentId, expertId: after.expertId, slaDueAt: new Date().toISOString() } };
    if (opts.emergency === 'approved') trail.add('review.completed', after, requestId);
  }
  const approved = opts.emergency ? true : opts.approved !== false;
  trail.add('decision.made', aDecision({ requestId, projectId, tierLevel: opts.tier ?? 1, approved, outcome: approved ? 'PROCEED_STANDARD' : 'BLOCK_WITH_FEEDBACK', ...(emergency ? { emergency } : {}) }), requestId);
  return requestId;
}

function period(trail: Trail, overrides: Partial<PeriodEvidence> = {}): PeriodEvidence {
  return {
    period: { from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' },
    population: buildPopulation(trail.entries),
    chain: { valid: true, entries: trail.entries.length },
    refusedAccess: [],
    auditReads: 0,
    lifecycle: { retentionDays: { personal: 90, confidential: 365, operational: 730 }, classifiedFields: 400, unclassifiedFields: [] },
    ...overrides,
  };
}

const resultOf = (framework: 'SOC2' | 'ISO27001' | 'GDPR', control: string, p: PeriodEvidence, packs = ['soc2', 'iso27001', 'gdpr']) =>
  evaluatePack(framework, packs, p).results.find((r) => r.control === control)!;

describe('population from the audit trail', () => {
  it('lists each change with its request, risk, approvals with verified identities, decision and trail', () => {
    const trail = new Trail();
    const id = change(trail, { selfRefused: true });
    const [record] = buildPopulation(trail.entries);
    expect(record).toMatchObject({ requestId: id, requester: 'rita', risk: { revision: 1 }, decision: { approved: true, tierLevel: 1 } });
    expect(record!.approvals).toEqual([expect.objectContaining({ expertId: 'security_expert_human', identity: person('sam'), decision: 'approve' })]);
    expect(record!.trail.map((t) => t.sequence)).toEqual(trail.entries.map((e) => e.sequence));
    expect(exceptionsOf([record!]).map((e) => e.kind)).toEqual(['refused-self-approval']);
  });

  it('takes the assignment of a review answered as it was assigned (a built-in validator) from the answer itself', () => {
    const trail = new Trail();
    const request = aDeploymentRequest();
    const { requestId, projectId } = request;
    const answer = validatorAnswer(requestId, projectId);
    trail.add('deployment.requested', request, requestId).add('review.completed', answer, requestId);
    const [record] = buildPopulation(trail.entries);
    expect(record!.assignments).toEqual([{ assignmentId: answer.assignmentId, expertId: 'test_validator', expertType: 'security', expertKind: 'automated', role: 'validator' }]);
    expect(record!.tierLevel).toBe(0);
    expect(record!.approvals).toEqual([expect.objectContaining({ assignmentId: answer.assignmentId, decision: 'approve', identity: null })]);
  });

  it('takes the tier and validators\' reviews of a change decided in one step from its decision', () => {
    const trail = new Trail();
    const request = aDeploymentRequest();
    const { requestId, projectId } = request;
    const answer = validatorAnswer(requestId, projectId);
    const classification = { requestId, projectId, governanceRequired: true, triggers: [], tierLevel: 0 as const, tierReasons: ['low risk'], classifiedAt: answer.completedAt };
    trail.add('deployment.requested', request, requestId).add('decision.made', { ...aDecision({ requestId, projectId, tierLevel: 0 }), classification, validatorReviews: [answer] }, requestId);
    const [record] = buildPopulation(trail.entries);
    expect(record!.tierLevel).toBe(0);
    expect(record!.assignments.map((a) => [a.assignmentId, a.role])).toEqual([[answer.assignmentId, 'validator']]);
    expect(record!.approvals).toEqual([expect.objectContaining({ assignmentId: answer.assignmentId, decision: 'approve', evidence: expect.objectContaining({ sequence: 2 }) })]);
  });

  it('shows emergency changes, blocks and undecided changes as exceptions', () => {
    const trail = new Trail();
    const emergency = change(trail, { emergency: 'pending', approver: null });
    const blocked = change(trail, { approved: false });
    const request = aDeploymentRequest();
    trail.add('deployment.requested', request, request.requestId);
    const kinds = exceptionsOf(buildPopulation(trail.entries)).map((e) => [e.requestId, e.kind]);
    expect(kinds).toEqual(expect.arrayContaining([[emergency, 'emergency-change'], [blocked, 'blocked'], [request.requestId, 'undecided']]));
    expect(exceptionsOf(buildPopulation(trail.entries)).find((e) => e.kind === 'emergency-change')!.detail).toMatch(/break-glass by erin.*after-the-fact review pending/);
  });
});

describe('rule packs', () => {
  it('SOC2 CC8.1 passes when every approved change had a verified independent approval, and notes refused self-approvals', () => {
    const trail = new Trail();
    change(trail, { selfRefused: true });
    change(trail, { approved: false });
    const result = resultOf('SOC2', 'CC8.1', period(trail));
    expect(result.status).toBe('pass');
    expect(result.pack).toBe('soc2@1');
    expect(result.reasons.join('\n')).toMatch(/1 self-approval\(s\) refused/);
    expect(result.evidence.length).toBeGreaterThan(0);
  });

  it('SOC2 CC8.1 fails an approval given by the requester herself, or without a verified person', () => {
    const trail = new Trail();
    const self = change(trail, { approver: 'rita' });
    const automatedOnly = change(trail, { approver: null });
    const result = resultOf('SOC2', 'CC8.1', period(trail));
    expect(result.status).toBe('fail');
    expect(result.reasons.join('\n')).toContain(self);
    expect(result.reasons.join('\n')).toContain(automatedOnly);
    expect(resultOf('SOC2', 'CC6.1', period(trail)).status).toBe('fail');
  });

  it('SOC2 CC8.1 counts a tier-0 change no trigger sent to review as a standard change, pre-approved by the policy', () => {
    const trail = new Trail();
    change(trail, { approver: null, tier: 0 });
    const result = resultOf('SOC2', 'CC8.1', period(trail));
    expect(result.status).toBe('pass');
    expect(result.reasons.join('\n')).toContain('1 standard change(s) approved by the governance policy');
  });

  it('an emergency change passes CC8.1 only once approved after the fact', () => {
    const pending = new Trail();
    change(pending, { emergency: 'pending', approver: null });
    expect(resultOf('SOC2', 'CC8.1', period(pending)).status).toBe('fail');
    const approved = new Trail();
    change(approved, { emergency: 'approved', approver: null });
    const result = resultOf('SOC2', 'CC8.1', period(approved));
    expect(result.status).toBe('pass');
    expect(result.reasons.join('\n')).toMatch(/emergency change \(break-glass by erin\), approved after the fact by olivia/);
  });

  it('is not applicable without decided changes, and when the project does not select the framework', () => {
    expect(resultOf('SOC2', 'CC8.1', period(new Trail())).status).toBe('not_applicable');
    const trail = new Trail();
    change(trail);
    const result = resultOf('SOC2', 'CC8.1', period(trail, { projectId: 'p1' }), ['gdpr']);
    expect(result).toMatchObject({ status: 'not_applicable' });
    expect(result.reasons[0]).toMatch(/does not select a SOC2 pack/);
  });

  it('ISO A.8.15 and SOC2 CC7.2 fail when the chain does not verify', () => {
    const trail = new Trail();
    change(trail);
    const broken = period(trail, { chain: { valid: false, entries: 5, firstBrokenEntry: { sequence: 3, reason: 'content hash mismatch' } } });
    expect(resultOf('ISO27001', 'A.8.15', broken)).toMatchObject({ status: 'fail' });
    expect(resultOf('ISO27001', 'A.8.15', broken).reasons.join()).toMatch(/content hash mismatch/);
    expect(resultOf('SOC2', 'CC7.2', broken).status).toBe('fail');
    expect(resultOf('ISO27001', 'A.8.15', period(trail)).status).toBe('pass');
  });

  it('GDPR: Art.25 needs a compliance review for personal data, Art.5(1)(e) a retention period, Art.30 every field classified', () => {
    const trail = new Trail();
    change(trail, { personal: true });
    expect(resultOf('GDPR', 'Art.25', period(trail)).status).toBe('fail');
    const reviewed = new Trail();
    change(reviewed, { personal: true, complianceReview: true });
    expect(resultOf('GDPR', 'Art.25', period(reviewed)).status).toBe('pass');
    expect(resultOf('GDPR', 'Art.25', period(new Trail())).status).toBe('not_applicable');
    expect(resultOf('GDPR', 'Art.5(1)(e)', period(trail, { lifecycle: { classifiedFields: 1, unclassifiedFields: [] } })).status).toBe('fail');
    expect(resultOf('GDPR', 'Art.5(1)(e)', period(trail)).status).toBe('pass');
    expect(resultOf('GDPR', 'Art.30', period(trail, { lifecycle: { classifiedFields: 1, unclassifiedFields: ['x.y.z'] } })).reasons.join()).toContain('x.y.z');
  });

  it('resolves pack references by name and version', () => {
    expect(resolvePack('soc2')?.id).toBe('soc2@1');
    expect(resolvePack('ISO27001@1')?.id).toBe('iso27001@1');
    expect(resolvePack('gdpr@2')).toBeUndefined();
  });
});

describe('report, sample and certificates', () => {
  it('samples reproducibly: the same seed gives the same changes, another seed (almost always) others', () => {
    const trail = new Trail();
    for (let i = 0; i < 30; i += 1) change(trail);
    const population = buildPopulation(trail.entries);
    const a = sampleChanges(population, 5, 'seed-1').map((c) => c.requestId);
    expect(sampleChanges([...population].reverse(), 5, 'seed-1').map((c) => c.requestId)).toEqual(a);
    expect(new Set(a).size).toBe(5);
    expect(sampleChanges(population, 5, 'seed-2').map((c) => c.requestId)).not.toEqual(a);
    expect(sampleChanges(population, 100, 'x')).toHaveLength(30);
  });

  it('builds a report with counts, exceptions and controls, and a certificate per decision that matches its attestation predicate', () => {
    const trail = new Trail();
    const id = change(trail, { selfRefused: true });
    change(trail, { approved: false });
    const report = buildEvidenceReport({ framework: 'SOC2', selectedPacks: ['soc2'], period: period(trail), generatedAt: '2026-12-05T00:00:00.000Z', generatedBy: 'ann', sample: { size: 1, seed: 's' } });
    expect(report.summary).toMatchObject({ changes: 2, decided: 2, approved: 1, blocked: 1, refusedSelfApprovals: 1 });
    expect(report.controls.map((c) => c.control)).toEqual(['CC8.1', 'CC6.1', 'CC7.2']);
    expect(report.sample).toMatchObject({ seed: 's', requestIds: [expect.any(String)] });
    const certificate = decisionCertificate(report.population.find((c) => c.requestId === id)!)!;
    expect(certificate.certificateDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(certificateMatchesAttestation(certificate, { ...certificate.attestationCheck }).matches).toBe(true);
    expect(certificateMatchesAttestation(certificate, { ...certificate.attestationCheck, approved: false }).differences).toEqual([expect.stringMatching(/^approved/)]);
  });

  it('writes CSV a spreadsheet cannot turn into a formula', () => {
    const trail = new Trail();
    change(trail);
    const population = buildPopulation(trail.entries);
    population[0]!.componentName = '=HYPERLINK("http://evil")';
    const csv = populationCsv(population);
    expect(csv.split('\r\n')[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
  });
});
