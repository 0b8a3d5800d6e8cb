import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttestationPublicKey, verifyAttestation } from '@agf/attestation-domain';
import { certificateMatchesAttestation, type DecisionCertificate, type EvidenceReport } from '@agf/compliance-domain';
import type { CloudEvent } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { eventually } from '@agf/testing';
import { unzipSync } from 'fflate';
import { run } from '../cli/agf';
import { TestSystem } from '../governance/system';

jest.setTimeout(420_000);

const hasPdftoppm = spawnSync('pdftoppm', ['-v']).error === undefined;
if (!hasPdftoppm) console.warn('evidence report: pdftoppm (poppler-utils) is not installed: the PDFs are checked for their header only, not rendered');

/**
 * Issue 31 "Evidence for an auditor", against the whole running system: real requests (approved, blocked,
 * escalated, a refused self-approval, a break-glass emergency change), then the evidence package compliance
 * builds from its own audit trail, checked for completeness against the services' tables.
 */
describe('evidence report over real requests', () => {
  let system: TestSystem;
  let checkpoints: string;
  const ids: Record<'approved' | 'blocked' | 'escalated' | 'selfRefused' | 'emergency', string> = { approved: '', blocked: '', escalated: '', selfRefused: '', emergency: '' };
  let from: string;
  let to: string;

  const compliance = () => system.services.get('compliance')!.url;
  const eventsOf = async <N extends 'review.assigned' | 'decision.escalated'>(name: N, requestId: string) =>
    (await system.nats.read(name.startsWith('review.') ? 'AGF_REVIEW' : 'AGF_DECISION', `agf.v1.${name}.>`)).map((m) => m.json<CloudEvent<N>>()).filter((e) => e.data.requestId === requestId);
  const humanAssignments = (requestId: string) =>
    eventually(async () => {
      const found = (await eventsOf('review.assigned', requestId)).map((e) => e.data).filter((a) => a.expertKind === 'human' && a.role !== 'oversight');
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
  const answer = (id: string, a: { assignmentId: string; expertId: string }, decision: 'approve' | 'reject') =>
    eventually(async () => expect((await system.review(id, { assignmentId: a.assignmentId, expertId: a.expertId, decision, comments: `${decision} after review` })).status).toBe(202));
  const lowRisk = (projectId: string, requester?: string) =>
    aDeploymentRequestInput({ projectId, changes: ['src/auth/token.ts'], riskIndicators: { securitySensitive: true, testsPassed: true, userImpact: 'low' }, ...(requester ? { requester } : {}) });
  const reportOf = async (query: string, headers?: Record<string, string>) => fetch(`${compliance()}/v1/compliance/reports?${query}`, { headers: headers ?? (await system.auditor()) });
  const unpack = async (response: Response) => unzipSync(new Uint8Array(await response.arrayBuffer()));
  const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes!).toString('utf8');

  beforeAll(async () => {
    system = await TestSystem.start('agf-config.escalation.yaml');
    checkpoints = mkdtempSync(join(tmpdir(), 'agf-evidence-checkpoints-'));
    const complianceProcess = system.services.get('compliance')!;
    await complianceProcess.stop();
    await complianceProcess.restart({ AGF_AUDIT_CHECKPOINT_DIR: checkpoints, AGF_AUDIT_CHECKPOINT_KEY_FILE: join(checkpoints, 'key.pem'), AGF_AUDIT_CHECKPOINT_EVERY: '5', AGF_AUDIT_CHECKPOINT_INTERVAL_SECONDS: '1' });
    from = new Date(Date.now() - 1000).toISOString();

    // Approved by the verified people assigned.
    ids.approved = await system.submit(lowRisk('payments'));
    for (const a of await humanAssignments(ids.approved)) await answer(ids.approved, a, 'approve');
    // Blocked: a reviewer rejects.
    ids.blocked = await system.submit(lowRisk('payments'));
    const [rejecter, ...others] = await humanAssignments(ids.blocked);
    await answer(ids.blocked, rejecter!, 'reject');
    for (const a of others) await answer(ids.blocked, a, 'approve');
    // A refused self-approval: the requester is bound to an expert and answers for it on her own request.
    const selfReviewer = 'security_lead_human';
    ids.selfRefused = await system.submit(lowRisk('storefront', selfReviewer));
    const assigned = await humanAssignments(ids.selfRefused);
    const own = await fetch(`${system.intake}/v1/deployment-requests/${ids.selfRefused}/reviews`, {
      method: 'POST',
      headers: await system.identity.headers({ sub: selfReviewer, roles: ['submitter', 'reviewer'], projects: ['storefront'] }),
      body: JSON.stringify({ assignmentId: randomUUID(), expertId: selfReviewer, decision: 'approve', comments: 'looks fine to me' }),
    });
    expect(own.status).toBe(403);
    expect(((await own.json()) as { type: string }).type).toMatch(/separation-of-duties/);
    for (const a of assigned) await answer(ids.selfRefused, a, 'approve');
    // Escalated for want of a performance expert, then decided by the person it was escalated to.
    ids.escalated = await system.submit(aDeploymentRequestInput({ projectId: 'storefront', changes: ['src/auth/checkout-session.ts'], riskIndicators: { securitySensitive: true, testsPassed: true, userImpact: 'critical' } }));
    for (const a of await humanAssignments(ids.escalated)) await answer(ids.escalated, a, 'approve');
    const escalation = await eventually(async () => {
      const found = await eventsOf('decision.escalated', ids.escalated);
      expect(found.length).toBeGreaterThan(0);
      return found.at(-1)!.data;
    }, 60_000, 250);
    await answer(ids.escalated, escalation.assignees[0]!, 'approve');
    // An emergency change: break-glass before any review.
    ids.emergency = await system.submit(lowRisk('payments'));
    await humanAssignments(ids.emergency);
    const glass = await fetch(`${system.intake}/v1/deployment-requests/${ids.emergency}/break-glass`, {
      method: 'POST',
      headers: await system.identity.headers({ sub: 'erin-oncall', roles: ['emergency'], projects: ['payments'] }),
      body: JSON.stringify({ justification: 'payments are failing in production; hotfix' }),
    });
    expect(glass.status).toBeLessThan(300);

    for (const id of Object.values(ids)) await system.decision(id, 90_000);
    // Every decision is in compliance's trail before the period is reported.
    await eventually(async () => {
      for (const id of Object.values(ids)) expect((await system.auditTrail(id)).some((e) => e.eventType === 'io.agf.decision.made.v1')).toBe(true);
    }, 30_000, 250);
    // And what follows a decision (learning, notifications, timers cancelled) is in it too: the sample compares whole trails.
    await system.settled();
    to = new Date(Date.now() + 1000).toISOString();
  });

  afterAll(async () => {
    await system?.stop();
    if (checkpoints) rmSync(checkpoints, { recursive: true, force: true });
  });

  it('lists every change of the period with its evidence, exceptions and control results, in one zip whose manifest hashes every file', async () => {
    const response = await reportOf(`framework=SOC2&from=${from}&to=${to}&sample=3&seed=audit-2026`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('x-agf-sample-seed')).toBe('audit-2026');
    const files = await unpack(response);

    // The manifest vouches for every other file, and SHA256SUMS says the same.
    const manifest = JSON.parse(text(files['manifest.json'])) as { files: Array<{ path: string; sha256: string; bytes: number }> };
    expect(new Set(manifest.files.map((f) => f.path))).toEqual(new Set(Object.keys(files).filter((p) => p !== 'manifest.json' && p !== 'SHA256SUMS')));
    for (const f of manifest.files) expect(createHash('sha256').update(files[f.path]!).digest('hex')).toBe(f.sha256);
    expect(text(files['SHA256SUMS']).trim().split('\n')).toHaveLength(manifest.files.length);

    const report = JSON.parse(text(files['report.json'])) as EvidenceReport;
    // Completeness against the database: every request intake stored in the period, and nothing else.
    const stored = await system.db.query<{ id: string; outcome: string; requester: string }>(
      `SELECT "id", "decision"->>'outcome' AS "outcome", "requester" FROM "intake"."requests" WHERE "created_at" >= $1 AND "created_at" < $2`,
      [from, to],
    );
    expect(report.population.map((c) => c.requestId).sort()).toEqual(stored.map((r) => r.id).sort());
    expect(stored.map((r) => r.id).sort()).toEqual(Object.values(ids).sort());
    for (const row of stored) {
      const change = report.population.find((c) => c.requestId === row.id)!;
      expect(change.decision?.outcome).toBe(row.outcome);
      expect(change.requester).toBe(row.requester);
      expect(change.risk).not.toBeNull();
      // Every completed review the CoE holds, with the identity it verified.
      const reviews = await system.db.query<{ id: string; expert_id: string; decision: string; actor: { subject: string } | null }>(
        `SELECT "id", "expert_id", "decision", "actor" FROM "coe"."assignments" WHERE "request_id" = $1 AND "status" = 'completed'`,
        [row.id],
      );
      expect(change.approvals.map((a) => [a.assignmentId, a.expertId, a.decision, a.identity?.subject ?? null]).sort()).toEqual(
        reviews.map((r) => [r.id, r.expert_id, r.decision, r.actor?.subject ?? null]).sort(),
      );
    }
    const csvLines = text(files['population.csv']).trim().split('\r\n');
    expect(csvLines).toHaveLength(1 + stored.length);

    // The departures from the normal path, each as what it is.
    const kinds = (id: string) => report.exceptions.filter((e) => e.requestId === id).map((e) => e.kind);
    expect(kinds(ids.blocked)).toContain('blocked');
    expect(kinds(ids.escalated)).toContain('escalated');
    expect(kinds(ids.selfRefused)).toContain('refused-self-approval');
    expect(kinds(ids.emergency)).toContain('emergency-change');
    // A reviewer's answer tried before intake knew the assignment is refused (404, recorded) and retried: that shows too.
    expect(kinds(ids.approved).filter((k) => k !== 'refused-answer')).toEqual([]);
    expect(report.summary).toMatchObject({ changes: 5, decided: 5, blocked: 1, emergencyChanges: 1, escalated: 1, refusedSelfApprovals: 1 });

    // SOC2 controls, judged with reasons and cited audit entries; the chain verifies against signed checkpoints.
    expect(report.controls.map((c) => c.control)).toEqual(['CC8.1', 'CC6.1', 'CC7.2']);
    for (const control of report.controls) expect(['pass', 'fail', 'not_applicable']).toContain(control.status);
    const cc81 = report.controls.find((c) => c.control === 'CC8.1')!;
    expect(cc81.reasons.join('\n')).toMatch(/1 self-approval\(s\) refused/);
    expect(cc81.reasons.join('\n')).toContain(ids.emergency);
    expect(cc81.evidence.length).toBeGreaterThan(0);
    expect(report.auditChain.valid).toBe(true);
    expect(report.auditChain.checkpoints?.verified).toBeGreaterThan(0);
    const cited = cc81.evidence[0]!;
    const [entry] = await system.db.query<{ entry_hash: string; event_type: string }>(`SELECT "entry_hash", "event_type" FROM "compliance"."audit_entries" WHERE "sequence" = $1`, [cited.sequence]);
    expect(entry).toEqual({ entry_hash: cited.entryHash, event_type: cited.eventType });

    // The sample: its seed, its size, each sampled change's full trail.
    expect(report.sample).toMatchObject({ seed: 'audit-2026', size: 3 });
    for (const id of report.sample!.requestIds) {
      const sampled = JSON.parse(text(files[`sample/${id}.json`])) as { entries: Array<{ sequence: number }> };
      const chained = await system.db.query<{ sequence: string }>(`SELECT "sequence" FROM "compliance"."audit_entries" WHERE "correlation_id" = $1 ORDER BY "sequence"`, [id]);
      expect(sampled.entries.map((e) => e.sequence)).toEqual(chained.map((c) => Number(c.sequence)));
    }
    // Drawn again with the same seed, the same changes; a certificate for every final decision.
    const again = JSON.parse(text((await unpack(await reportOf(`framework=SOC2&from=${from}&to=${to}&sample=3&seed=audit-2026`)))['report.json'])) as EvidenceReport;
    expect(again.sample!.requestIds).toEqual(report.sample!.requestIds);
    for (const id of Object.values(ids)) {
      expect(files[`certificates/${id}.json`]).toBeDefined();
      expect(text(files[`certificates/${id}.pdf`]?.subarray(0, 5))).toBe('%PDF-');
    }
    expect(text(files['report.pdf']?.subarray(0, 5))).toBe('%PDF-');
  });

  const maybeRender = hasPdftoppm ? it : it.skip;
  maybeRender('renders its PDFs (pdftoppm), with the changes and control results in them', async () => {
    const files = await unpack(await reportOf(`framework=ISO27001&from=${from}&to=${to}`));
    const dir = mkdtempSync(join(tmpdir(), 'agf-evidence-pdf-'));
    try {
      writeFileSync(join(dir, 'report.pdf'), files['report.pdf']!);
      writeFileSync(join(dir, 'certificate.pdf'), files[`certificates/${ids.escalated}.pdf`]!);
      execFileSync('pdftoppm', ['-png', '-r', '40', join(dir, 'report.pdf'), join(dir, 'report')]);
      execFileSync('pdftoppm', ['-png', '-r', '40', join(dir, 'certificate.pdf'), join(dir, 'certificate')]);
      const pages = readdirSync(dir).filter((f) => f.endsWith('.png'));
      expect(pages.filter((p) => p.startsWith('report')).length).toBeGreaterThan(0);
      expect(pages.filter((p) => p.startsWith('certificate')).length).toBe(1);
      for (const page of pages) expect(statSync(join(dir, page)).size).toBeGreaterThan(1000);
      if (spawnSync('pdftotext', ['-v']).error === undefined) {
        const words = execFileSync('pdftotext', ['-layout', join(dir, 'report.pdf'), '-']).toString();
        for (const control of ['A.8.32', 'A.5.15', 'A.8.15', 'A.8.16']) expect(words).toContain(control);
        for (const id of Object.values(ids)) expect(words).toContain(id);
        expect(words).toMatch(/EMERGENCY CHANGE/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a certificate that matches the signed attestation of the same decision, and one altered that does not', async () => {
    const files = await unpack(await reportOf(`framework=SOC2&from=${from}&to=${to}`));
    const certificate = JSON.parse(text(files[`certificates/${ids.approved}.json`])) as DecisionCertificate;
    const headers = await system.auditor();
    const envelope: unknown = await (await fetch(`${system.intake}/v1/deployment-requests/${ids.approved}/attestation`, { headers })).json();
    const { keys } = (await (await fetch(`${system.intake}/v1/attestation-keys`, { headers })).json()) as { keys: AttestationPublicKey[] };
    const verified = verifyAttestation(envelope, keys, { name: certificate.artifact });
    expect(verified.valid).toBe(true);
    const predicate = verified.statement!.predicate as unknown as Record<string, unknown>;
    expect(certificateMatchesAttestation(certificate, predicate)).toEqual({ matches: true, differences: [] });
    expect(certificateMatchesAttestation({ ...certificate, attestationCheck: { ...certificate.attestationCheck, outcome: 'PROCEED_STANDARD', approved: !certificate.approved } }, predicate).matches).toBe(false);

    // The CLI does the same, fetching the attestation and keys itself.
    const dir = mkdtempSync(join(tmpdir(), 'agf-evidence-cli-'));
    try {
      const token = (await system.auditor())['authorization']!.replace(/^Bearer /, '');
      const env = { AGF_URL: system.intake, AGF_TOKEN: token };
      writeFileSync(join(dir, 'certificate.json'), JSON.stringify(certificate));
      const ok = await run(['compliance', 'certificate', 'verify', '--certificate', 'certificate.json'], { cwd: dir, env });
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/matches the signed attestation/);
      writeFileSync(join(dir, 'forged.json'), JSON.stringify({ ...certificate, attestationCheck: { ...certificate.attestationCheck, tierLevel: 9 } }));
      const forged = await run(['compliance', 'certificate', 'verify', '--certificate', 'forged.json'], { cwd: dir, env });
      expect(forged.code).toBe(1);
      expect(forged.stderr).toMatch(/tierLevel/);

      // `agf compliance report` writes the archive and prints the seed it drew with.
      const report = await run(['compliance', 'report', '--framework', 'GDPR', '--from', from, '--to', to, '--project', 'payments', '--sample', '2', '--out', 'gdpr.zip', '--compliance-url', compliance()], { cwd: dir, env });
      expect(report.stderr).toBe('');
      expect(report.code).toBe(0);
      expect(report.stdout).toMatch(/wrote gdpr\.zip .*3 change\(s\).*sample seed [0-9a-f]{16}/);
      const archive = unzipSync(new Uint8Array(execFileSync('cat', [join(dir, 'gdpr.zip')])));
      const gdpr = JSON.parse(text(archive['report.json'])) as EvidenceReport;
      expect(gdpr.population.map((c) => c.requestId).sort()).toEqual([ids.approved, ids.blocked, ids.emergency].sort());
      expect(gdpr.controls.map((c) => c.control)).toEqual(['Art.5(1)(e)', 'Art.25', 'Art.30', 'Art.32']);
      // No retention configured in this fixture: storage limitation fails, saying why; every stored field is classified.
      expect(gdpr.controls.find((c) => c.control === 'Art.5(1)(e)')).toMatchObject({ status: 'fail' });
      expect(gdpr.controls.find((c) => c.control === 'Art.30')).toMatchObject({ status: 'pass' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses anyone but an auditor (recorded), bad queries with problem+json, and records each report as a read of the trail', async () => {
    expect((await fetch(`${compliance()}/v1/compliance/reports?framework=SOC2&from=${from}&to=${to}`)).status).toBe(401);
    const submitter = await system.identity.headers({ sub: 'sneaky-sue', roles: ['submitter', 'reviewer', 'admin'], projects: ['*'] });
    expect((await reportOf(`framework=SOC2&from=${from}&to=${to}`, submitter)).status).toBe(403);
    await eventually(async () => {
      const refused = (await system.nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);
      expect(refused.some((r) => r.service === 'compliance' && r.actor?.subject === 'sneaky-sue' && r.target.includes('/v1/compliance/reports'))).toBe(true);
    });
    for (const query of ['framework=PCI&from=2026-01-01&to=2026-02-01', 'framework=SOC2&from=yesterday&to=2026-02-01', 'framework=SOC2&from=2026-02-01&to=2026-01-01', `framework=SOC2&from=${from}&to=${to}&sample=0`, `framework=SOC2&from=${from}&to=${to}&seed=x`, `framework=SOC2&from=${from}&to=${to}&project=a%20b`]) {
      const bad = await reportOf(query);
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    await eventually(async () => {
      const reads = (await system.nats.read('AGF_SECURITY', 'agf.v1.security.audit.read')).map((m) => m.json<CloudEvent<'security.audit.read'>>().data);
      expect(reads.some((r) => r.actor.subject === 'auditor-ann' && r.target.startsWith('/v1/compliance/reports?framework=SOC2'))).toBe(true);
    });
    // A period without changes: an empty population, change controls not applicable.
    const empty = JSON.parse(text((await unpack(await reportOf('framework=SOC2&from=2001-01-01&to=2001-02-01')))['report.json'])) as EvidenceReport;
    expect(empty.population).toEqual([]);
    expect(empty.controls.find((c) => c.control === 'CC8.1')!.status).toBe('not_applicable');
    expect(existsSync(checkpoints)).toBe(true);
  });
});
