import { type ChainVerificationResult, type CheckedChainResult, verifyChainWithCheckpoints, verifyPagedChain } from '@agf/compliance-domain';
import type { DataSource } from 'typeorm';
import type { AuditCheckpointer } from './audit-checkpointer';
import { auditRepository as audit } from './audit.repository';

/** Walks the whole chain, against the signed checkpoints when they are configured. */
export async function verifyAuditChain(dataSource: DataSource, checkpointer: AuditCheckpointer): Promise<ChainVerificationResult | CheckedChainResult> {
  // Checkpoints first, then the head (one signed meanwhile would lie beyond a head read earlier), then the walk:
  // entries appended during it lie beyond the head and are not judged this time.
  const evidence = checkpointer.evidence();
  const head = await audit.head(dataSource);
  const loadPage = (after: number, limit: number) => audit.page(dataSource, after, Math.min(limit, head.sequence - after));
  // With checkpoints, a chain rewritten consistently by someone with database rights is caught as well.
  return evidence ? verifyChainWithCheckpoints(loadPage, head, evidence.checkpoints, evidence.trustedKeys) : verifyPagedChain(loadPage, head);
}
