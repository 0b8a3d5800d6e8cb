import { createPublicKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { signCheckpoint } from '@agf/compliance-domain';
import { AuditCheckpointDirectory, INFRA_CONFIG, type InfraConfig, loadOrCreateCheckpointKey } from '@agf/platform';
import { DataSource } from 'typeorm';
import { auditRepository as audit } from './audit.repository';

/** How often the head is looked at: one cheap read. */
const POLL_MS = 1000;

/**
 * Signs the chain head every `AGF_AUDIT_CHECKPOINT_EVERY` entries or `AGF_AUDIT_CHECKPOINT_INTERVAL_SECONDS`,
 * whichever comes first, and writes the checkpoint outside Postgres (`AGF_AUDIT_CHECKPOINT_DIR`). Replicas may
 * all run it: a checkpoint file is created exclusively, so two replicas signing the same head write it once.
 */
@Injectable()
export class AuditCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('compliance');
  private timer: NodeJS.Timeout | undefined;
  private directory: AuditCheckpointDirectory | undefined;
  private key: KeyObject | undefined;
  private lastSequence = 0;
  private lastSignedAt = Date.now();
  private busy = false;
  /** The chain's first entry hash: it names the chain in every checkpoint. */
  private chainStart: string | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(INFRA_CONFIG) private readonly infra: InfraConfig,
  ) {}

  onApplicationBootstrap(): void {
    const { AGF_AUDIT_CHECKPOINT_DIR: dir, AGF_AUDIT_CHECKPOINT_KEY_FILE: keyFile } = this.infra;
    if (!dir || !keyFile) {
      this.logger.warn('AGF_AUDIT_CHECKPOINT_DIR is not set: no signed audit checkpoints, so a database superuser could rewrite the audit chain unnoticed');
      return;
    }
    this.key = loadOrCreateCheckpointKey(keyFile, (message) => this.logger.log(message));
    this.directory = new AuditCheckpointDirectory(dir);
    this.lastSequence = this.directory.latestSequence();
    this.timer = setInterval(() => void this.tick(), POLL_MS);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The checkpoints written so far and the keys to check them with; undefined when checkpoints are off. */
  evidence(): { checkpoints: ReturnType<AuditCheckpointDirectory['readAll']>; trustedKeys: KeyObject[] } | undefined {
    if (!this.directory || !this.key) return undefined;
    return { checkpoints: this.directory.readAll(), trustedKeys: [createPublicKey(this.key)] };
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const head = await audit.head(this.dataSource);
      const added = head.sequence - this.lastSequence;
      const due = added >= this.infra.AGF_AUDIT_CHECKPOINT_EVERY || (added > 0 && Date.now() - this.lastSignedAt >= this.infra.AGF_AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000);
      if (!due) return;
      this.chainStart ??= await audit.firstEntryHash(this.dataSource);
      this.directory!.write(signCheckpoint(this.chainStart!, head, this.key!));
      this.lastSequence = head.sequence;
      this.lastSignedAt = Date.now();
    } catch (error) {
      this.logger.warn(`audit checkpoint: ${(error as Error).message}; trying again`);
    } finally {
      this.busy = false;
    }
  }
}
