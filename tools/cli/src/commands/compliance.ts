import { readFileSync, writeFileSync } from 'node:fs';
import { type AttestationPublicKey, verifyAttestation } from '@agf/attestation-domain';
import { AgfClient } from '@agf/client';
import { certificateMatchesAttestation, type DecisionCertificate } from '@agf/compliance-domain';
import { type Command, Option } from 'commander';
import { CliExit, EXIT } from '../exit-codes';

interface Globals {
  url?: string;
  token?: string;
  json?: boolean;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliExit(EXIT.usage, `${file}: ${(error as Error).message}`);
  }
}

/**
 * `agf compliance report …` (an auditor's evidence package) and `agf compliance certificate verify …` (a
 * decision certificate against the signed attestation of the same decision).
 */
export function registerComplianceCommands(program: Command, globals: () => Globals): void {
  const print = (human: string, data: unknown): void => {
    process.stdout.write(globals().json ? `${JSON.stringify(data)}\n` : `${human}\n`);
  };
  const clientWith = (complianceUrl: string | undefined) => new AgfClient({ url: globals().url ?? 'http://127.0.0.1:3001', token: globals().token, complianceUrl });
  const compliance = program.command('compliance').description('compliance evidence: reports for auditors, decision certificates');

  compliance
    .command('report')
    .description('download the evidence package of a period (role auditor): JSON, CSV, PDF, certificates, sample, SHA-256 manifest, in one zip')
    .addOption(new Option('--framework <name>', 'framework').choices(['SOC2', 'ISO27001', 'GDPR']).makeOptionMandatory())
    .requiredOption('--from <date>', 'start of the period (YYYY-MM-DD or ISO instant), included')
    .requiredOption('--to <date>', 'end of the period, excluded')
    .option('--project <id>', 'one project only')
    .option('--sample <n>', 'a reproducible random sample of N changes, each with its full evidence')
    .option('--seed <seed>', "the sample's seed (printed when not given, so the sample can be drawn again)")
    .option('--out <file>', 'where to write the zip', 'report.zip')
    .option('--compliance-url <url>', 'compliance service (default: intake host, port 3005)')
    .action(async (o: { framework: string; from: string; to: string; project?: string; sample?: string; seed?: string; out: string; complianceUrl?: string }) => {
      if (o.seed !== undefined && o.sample === undefined) throw new CliExit(EXIT.usage, '--seed needs --sample');
      const { zip, headers } = await clientWith(o.complianceUrl).complianceReport({ framework: o.framework, from: o.from, to: o.to, project: o.project, sample: o.sample, seed: o.seed });
      writeFileSync(o.out, zip);
      const seed = headers['x-agf-sample-seed'];
      const summary = { written: o.out, bytes: zip.length, changes: Number(headers['x-agf-report-changes'] ?? 0), controls: headers['x-agf-report-controls'], auditChain: headers['x-agf-audit-chain'], ...(seed ? { sampleSeed: seed } : {}) };
      print(
        `wrote ${o.out} (${zip.length} bytes): ${summary.changes} change(s); controls ${summary.controls}; audit chain ${summary.auditChain}${seed ? `; sample seed ${seed}` : ''}`,
        summary,
      );
      if (summary.auditChain !== 'valid') process.exitCode = EXIT.blocked;
    });

  compliance
    .command('certificate')
    .description('decision certificates')
    .command('verify')
    .description("check a decision certificate (certificates/<id>.json of a report) against the decision's signed attestation")
    .requiredOption('--certificate <file>', 'the certificate JSON')
    .option('--attestation <file>', 'the DSSE envelope (default: fetched from intake)')
    .option('--keys <file>', 'trusted keys (GET /v1/attestation-keys answer); default: fetched from AGF')
    .action(async (o: { certificate: string; attestation?: string; keys?: string }) => {
      const certificate = readJson(o.certificate) as DecisionCertificate;
      if (typeof certificate?.requestId !== 'string' || !certificate.attestationCheck) throw new CliExit(EXIT.usage, `${o.certificate} is not a decision certificate`);
      const client = clientWith(undefined);
      const envelope: unknown = o.attestation ? readJson(o.attestation) : await client.attestation(certificate.requestId);
      const keys = o.keys ? (readJson(o.keys) as { keys: AttestationPublicKey[] }).keys : (await client.attestationKeys()).keys;
      const signature = verifyAttestation(envelope, keys, { name: certificate.artifact });
      // A blocked decision has a valid signature too; only the "may proceed" verdict differs from `agf verify`.
      const statement = signature.statement;
      const signed = signature.valid || (statement !== undefined && /may not be deployed/.test(signature.reason));
      if (!signed || !statement) {
        print('', { valid: false, reason: signature.valid ? 'unreachable' : signature.reason });
        throw new CliExit(EXIT.blocked, `attestation does not verify: ${signature.valid ? '' : signature.reason}`);
      }
      const match = certificateMatchesAttestation(certificate, statement.predicate as unknown as Record<string, unknown>);
      if (!match.matches) {
        if (globals().json) print('', { valid: false, differences: match.differences });
        throw new CliExit(EXIT.blocked, `certificate does not match the signed attestation: ${match.differences.join('; ')}`);
      }
      print(`valid: certificate ${certificate.requestId} (${certificate.outcome}) matches the signed attestation`, { valid: true, requestId: certificate.requestId, outcome: certificate.outcome });
    });
}
