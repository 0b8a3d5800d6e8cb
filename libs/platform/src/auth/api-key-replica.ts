import { AccessKeyIssued, AccessKeyRevoked, type CloudEventEnvelope, messageNameOfSubject, type Role } from '@agf/contracts';
import type { Namespace } from '@agf/messaging';
import { DeliverPolicy, type ConsumerMessages, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface ReplicatedKey {
  keyId: string;
  subject: string;
  roles: Role[];
  projects: string[];
  expiresAt: number | null;
  revoked: boolean;
}

/**
 * This process's replica of the API keys: it replays `AGF_ACCESS` from the start with an ordered consumer and
 * then follows it, so a key issued or revoked by intake reaches every replica of every service within moments,
 * without a table shared between services. Keys are found by the SHA-256 of the presented key.
 */
export class ApiKeyReplica {
  private readonly byHash = new Map<string, ReplicatedKey>();
  private readonly byId = new Map<string, ReplicatedKey>();
  private readonly waiters = new Map<string, Array<() => void>>();
  private messages?: ConsumerMessages;
  private caughtUp!: () => void;
  /** Settles once everything in the stream when the replica started has been applied. */
  readonly ready = new Promise<void>((resolve) => (this.caughtUp = resolve));

  async start(nc: NatsConnection, namespace: Namespace): Promise<void> {
    const stream = namespace.stream('AGF_ACCESS');
    const jsm = await jetstreamManager(nc);
    const lastSequence = (await jsm.streams.info(stream)).state.last_seq;
    if (lastSequence === 0) this.caughtUp();
    const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    this.messages = await consumer.consume();
    void (async () => {
      for await (const msg of this.messages!) {
        const name = messageNameOfSubject(namespace.strip(msg.subject) ?? '');
        try {
          const event = msg.json<CloudEventEnvelope>();
          if (name === 'access.key.issued') this.issued(AccessKeyIssued.parse(event.data));
          if (name === 'access.key.revoked') this.revoked(AccessKeyRevoked.parse(event.data).keyId);
        } catch {
          // Not a key event AGF wrote (the stream's subjects are AGF's own): nothing to learn from it.
        }
        if (msg.seq >= lastSequence) this.caughtUp();
      }
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
  }

  /**
   * Settles true once the key whose SHA-256 this is has reached this replica, or false after `timeoutMs`. Intake
   * answers the issuing call only then, so a pipeline can use its new key at once on the service that issued it.
   */
  whenKnown(keyHash: string, timeoutMs: number): Promise<boolean> {
    if (this.byHash.has(keyHash)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.set(keyHash, (this.waiters.get(keyHash) ?? []).filter((waiter) => waiter !== arrived));
        resolve(false);
      }, timeoutMs);
      const arrived = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.set(keyHash, [...(this.waiters.get(keyHash) ?? []), arrived]);
    });
  }

  /** The key whose SHA-256 this is, if it was issued and is neither revoked nor expired. */
  find(keyHash: string, now = Date.now()): ReplicatedKey | undefined {
    const key = this.byHash.get(keyHash);
    if (!key || key.revoked || (key.expiresAt !== null && key.expiresAt <= now)) return undefined;
    return key;
  }

  private issued(event: AccessKeyIssued): void {
    const known = this.byId.get(event.keyId);
    const key: ReplicatedKey = {
      keyId: event.keyId,
      subject: event.subject,
      roles: event.roles,
      projects: event.projects,
      expiresAt: event.expiresAt ? Date.parse(event.expiresAt) : null,
      // A revocation seen first (redelivery order) stays in force.
      revoked: known?.revoked ?? false,
    };
    this.byId.set(event.keyId, key);
    this.byHash.set(event.keyHash, key);
    for (const arrived of this.waiters.get(event.keyHash) ?? []) arrived();
    this.waiters.delete(event.keyHash);
  }

  private revoked(keyId: string): void {
    const key = this.byId.get(keyId);
    if (key) key.revoked = true;
    else this.byId.set(keyId, { keyId, subject: '', roles: [], projects: [], expiresAt: null, revoked: true });
  }
}
