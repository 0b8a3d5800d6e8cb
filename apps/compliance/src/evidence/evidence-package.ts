import { createHash } from 'node:crypto';
import {
  type ChainedAuditEntry,
  controlsCsv,
  type DecisionCertificate,
  decisionCertificate,
  type EvidenceReport,
  exceptionsCsv,
  populationCsv,
  type SignedAuditCheckpoint,
} from '@agf/compliance-domain';
import { zipSync, type Zippable } from 'fflate';
import type PDFDocument from 'pdfkit';

export interface PackageInput {
  report: EvidenceReport;
  /** The full audit entries of each sampled change (its whole evidence, payloads included). */
  sampledTrails: Map<string, { stored: ChainedAuditEntry[]; revealed: ChainedAuditEntry[] }>;
  checkpoints: ReadonlyArray<{ name: string; signed: SignedAuditCheckpoint }>;
  checkpointPublicKeysPem: string[];
}

export interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

/**
 * One zip: the report as JSON, CSV and PDF, a certificate (JSON + PDF) per final decision, the sampled changes'
 * full trails, the chain verification and checkpoints, and a manifest of SHA-256 hashes of every other file
 * (also as `SHA256SUMS`, so `sha256sum -c SHA256SUMS` checks an unpacked archive).
 */
export async function buildEvidencePackage(input: PackageInput): Promise<{ zip: Buffer; manifest: ManifestFile[] }> {
  const { report } = input;
  const files = new Map<string, Buffer>();
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  files.set('report.json', json(report));
  files.set('population.csv', Buffer.from(populationCsv(report.population)));
  files.set('controls.csv', Buffer.from(controlsCsv(report.controls)));
  files.set('exceptions.csv', Buffer.from(exceptionsCsv(report.exceptions)));
  files.set('audit-chain/verification.json', json(report.auditChain));
  files.set('audit-chain/checkpoints.json', json({ checkpoints: input.checkpoints, publicKeysPem: input.checkpointPublicKeysPem }));
  files.set('report.pdf', await renderReportPdf(report));
  for (const change of report.population) {
    const certificate = decisionCertificate(change);
    if (!certificate) continue;
    files.set(`certificates/${change.requestId}.json`, json(certificate));
    files.set(`certificates/${change.requestId}.pdf`, await renderCertificatePdf(certificate, report.generatedAt));
  }
  for (const [requestId, trail] of input.sampledTrails) files.set(`sample/${requestId}.json`, json({ requestId, entries: trail.stored, revealed: trail.revealed.map((e) => ({ sequence: e.sequence, payload: e.payload })) }));

  const manifest = [...files.entries()].map(([path, bytes]) => ({ path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }));
  files.set('manifest.json', json({ report: { framework: report.framework, pack: report.pack, period: report.period, projectId: report.projectId, generatedAt: report.generatedAt, sample: report.sample }, files: manifest }));
  files.set('SHA256SUMS', Buffer.from(manifest.map((f) => `${f.sha256}  ${f.path}\n`).join('')));

  const mtime = new Date(report.generatedAt);
  const zippable: Zippable = {};
  for (const [path, bytes] of files) zippable[path] = [new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), { mtime }];
  return { zip: Buffer.from(zipSync(zippable, { level: 6 })), manifest };
}

function pdfToBuffer(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.end();
  });
}

/**
 * pdfkit, with the fontkit and brotli it loads, holds about 4.5 MB of heap from the moment it is required: loaded
 * with the first evidence package, not by every compliance process at start.
 */
let pdfDocumentClass: typeof PDFDocument | undefined;

async function newDocument(title: string, createdAt: string): Promise<PDFKit.PDFDocument> {
  pdfDocumentClass ??= (await import('pdfkit')).default;
  return new pdfDocumentClass({ size: 'A4', margin: 50, bufferPages: true, info: { Title: title, Author: 'AGF compliance', CreationDate: new Date(createdAt) } });
}

function heading(doc: PDFKit.PDFDocument, text: string): void {
  doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).text(text).moveDown(0.3).font('Helvetica').fontSize(9.5);
}

function keyValues(doc: PDFKit.PDFDocument, rows: Array<[string, string]>): void {
  for (const [key, value] of rows) doc.font('Helvetica-Bold').text(`${key}: `, { continued: true }).font('Helvetica').text(value);
}

/** The Helvetica of a PDF without embedded fonts knows Latin-1 only: other characters are shown as '?'. */
const latin1 = (text: string) => [...text].map((ch) => (/[\t\n\r -~\u00a0-\u00ff]/.test(ch) ? ch : '?')).join('');

export async function renderReportPdf(report: EvidenceReport): Promise<Buffer> {
  const doc = await newDocument(`AGF ${report.framework} evidence report`, report.generatedAt);
  doc.font('Helvetica-Bold').fontSize(18).text(`${report.framework} evidence report`);
  doc.font('Helvetica').fontSize(9.5).moveDown(0.5);
  const s = report.summary;
  keyValues(doc, [
    ['Period', `${report.period.from} to ${report.period.to} (end excluded)`],
    ['Project', report.projectId ?? 'all projects'],
    ['Rule pack', report.pack],
    ['Generated', `${report.generatedAt} for ${latin1(report.generatedBy)}`],
    ['Changes', `${s.changes} requested, ${s.decided} decided (${s.approved} approved, ${s.blocked} blocked), ${s.undecided} undecided`],
    ['Exceptions', `${s.exceptions} (emergency changes ${s.emergencyChanges}, escalated ${s.escalated}, refused self-approvals ${s.refusedSelfApprovals})`],
    ['Controls', `${s.controls['pass'] ?? 0} pass, ${s.controls['fail'] ?? 0} fail, ${s.controls['not_applicable'] ?? 0} not applicable`],
  ]);

  heading(doc, 'Audit chain');
  const chain = report.auditChain;
  keyValues(doc, [
    ['Verification', chain.valid ? `valid: ${chain.entries} entries verified` : `BROKEN at entry ${chain.firstBrokenEntry?.sequence ?? '?'}: ${chain.firstBrokenEntry?.reason ?? chain.checkpoints?.firstBadCheckpoint?.reason ?? ''}`],
    ['Signed checkpoints', chain.checkpoints ? `${chain.checkpoints.verified} verified${chain.checkpoints.latest ? `, latest at entry ${chain.checkpoints.latest.sequence} signed ${chain.checkpoints.latest.signedAt}` : ''}` : 'not configured'],
  ]);

  heading(doc, 'Control results');
  for (const control of report.controls) {
    doc.font('Helvetica-Bold').text(`${control.control}  ${control.title}: ${control.status.toUpperCase().replace('_', ' ')}`);
    doc.font('Helvetica');
    for (const reason of control.reasons) doc.text(latin1(`- ${reason}`), { indent: 12 });
    if (control.evidence.length) doc.fillColor('#555').text(`Evidence: audit entries ${control.evidence.slice(0, 40).map((e) => e.sequence).join(', ')}${control.evidence.length > 40 ? ', ...' : ''}`, { indent: 12 }).fillColor('black');
    doc.moveDown(0.3);
  }

  heading(doc, 'Exceptions');
  if (!report.exceptions.length) doc.text('None.');
  for (const exception of report.exceptions) doc.text(latin1(`${exception.requestId}  [${exception.kind}]  ${exception.detail}`));

  if (report.sample) {
    heading(doc, `Sample of ${report.sample.requestIds.length} (seed "${latin1(report.sample.seed)}")`);
    doc.text('Reproducible: the same population, size and seed give the same sample. Each sampled change has its full trail under sample/.');
    for (const id of report.sample.requestIds) doc.text(id);
  }

  heading(doc, 'Population of changes');
  for (const c of report.population) {
    const d = c.decision;
    const approvals = c.approvals.map((a) => `${a.expertId} ${a.decision}${a.identity ? ` (verified: ${a.identity.subject})` : ''}`).join('; ') || 'none';
    doc.font('Helvetica-Bold').text(latin1(`${c.requestId}  ${c.projectId}/${c.componentName}@${c.version}`));
    doc.font('Helvetica').text(
      latin1(
        `requested by ${c.requester} at ${c.submittedAt}; risk ${c.risk ? c.risk.overallScore.toFixed(2) : 'not assessed'}; tier ${c.tierLevel ?? '?'}; approvals: ${approvals}; ` +
          `decision: ${d ? `${d.outcome}${d.emergency ? ' (EMERGENCY CHANGE, break-glass)' : ''}${d.escalation ? ` (after escalation, level ${d.escalation.level})` : ''} at ${d.decidedAt}` : 'none'}; ` +
          `outcome: ${c.outcome?.status ?? 'not reported'}${c.refusedAnswers.length ? `; refused: ${c.refusedAnswers.map((r) => `${r.by ?? r.expertId ?? "?"} (${r.code})`).join(', ')}` : ''}`,
      ),
      { indent: 12 },
    );
  }
  pageNumbers(doc);
  return pdfToBuffer(doc);
}

export async function renderCertificatePdf(certificate: DecisionCertificate, createdAt: string): Promise<Buffer> {
  const doc = await newDocument(`AGF decision certificate ${certificate.requestId}`, createdAt);
  doc.font('Helvetica-Bold').fontSize(18).text('Decision certificate').font('Helvetica').fontSize(9.5).moveDown(0.5);
  keyValues(doc, [
    ['Request', certificate.requestId],
    ['Artifact', latin1(`${certificate.projectId}/${certificate.artifact}`)],
    ['Requester', latin1(certificate.requester)],
    ['Decision', `${certificate.outcome} (${certificate.approved ? 'approved' : 'not approved'}), tier ${certificate.tierLevel}, risk ${certificate.riskScore.toFixed(2)}`],
    ['Decided at', certificate.decidedAt],
    ...(certificate.emergency ? ([['Emergency change', latin1(`break-glass by ${certificate.emergency.approvedBy}: ${certificate.emergency.justification}`)]] as Array<[string, string]>) : []),
    ...(certificate.escalation ? ([['Escalation', latin1(`level ${certificate.escalation.level} (${certificate.escalation.reason}), decided by ${certificate.escalation.resolvedBy ?? 'unknown'}`)]] as Array<[string, string]>) : []),
    ['Rationale', latin1(certificate.rationale)],
  ]);
  heading(doc, 'Reviews');
  if (!certificate.approvers.length) doc.text('None.');
  for (const a of certificate.approvers) doc.text(latin1(`${a.expertId} (${a.expertType}, ${a.expertKind}): ${a.decision} at ${a.completedAt}; identity ${a.identity ?? 'built-in validator'}`));
  heading(doc, 'Evidence');
  keyValues(doc, [
    ['Audit entry', `${certificate.auditEntry.sequence} (${certificate.auditEntry.eventType})`],
    ['Entry hash', certificate.auditEntry.entryHash],
    ['Certificate digest', certificate.certificateDigest],
  ]);
  doc.moveDown().text('Verify: the entry hash is checked by `npm run audit:verify`; the decision against its signed attestation with `agf compliance certificate verify`.');
  return pdfToBuffer(doc);
}

function pageNumbers(doc: PDFKit.PDFDocument): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i += 1) {
    doc.switchToPage(i);
    // Below the bottom margin: without this pdfkit would open a new page for the footer.
    doc.page.margins.bottom = 0;
    doc.fontSize(8).fillColor('#777').text(`page ${i + 1} of ${range.count}`, 50, doc.page.height - 40, { align: 'center', lineBreak: false }).fillColor('black');
  }
}
