import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type DecisionMade, parseEvent, subjectFilterFor } from '@agf/contracts';
import { Namespace } from '@agf/messaging';
import { NAMESPACE, NATS_CONNECTION } from '@agf/platform';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

type Waiter = (decision: DecisionMade) => void;

/**
 * Long-poll support: a waiting HTTP request holds no database connection, only a callback here. Every
 * intake replica watches `decision.made` with a plain (non-durable) subscription, so whichever replica
 * holds the waiter learns of the decision, even when another replica's consumer updated the read model.
 */
@Injectable()
export class DecisionWaiters implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('decision-waiters');
  private readonly waiters = new Map<string, Set<Waiter>>();
  private subscription: Subscription | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(NAMESPACE) private readonly namespace: Namespace,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(this.namespace.subject(subjectFilterFor('decision.made')), {
      callback: (error, msg) => {
        if (error) return this.logger.warn(error.message);
        if (!this.waiters.size) return;
        try {
          const parsed = parseEvent('decision.made', msg.json());
          if (parsed.ok) this.resolve(parsed.value.data);
        } catch {
          // Not ours to judge: the durable consumer dead-letters invalid events.
        }
      },
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    for (const set of this.waiters.values()) set.clear();
  }

  /** Resolves with the decision, or undefined when `timeoutMs` passes first. */
  wait(requestId: string, timeoutMs: number): { promise: Promise<DecisionMade | undefined>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<DecisionMade | undefined>((resolve) => {
      const set = this.waiters.get(requestId) ?? new Set<Waiter>();
      this.waiters.set(requestId, set);
      const done = (decision: DecisionMade | undefined): void => {
        clearTimeout(timer);
        set.delete(waiter);
        if (!set.size) this.waiters.delete(requestId);
        resolve(decision);
      };
      const waiter: Waiter = (decision) => done(decision);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      set.add(waiter);
      cancel = () => done(undefined);
    });
    return { promise, cancel };
  }

  resolve(decision: DecisionMade): void {
    for (const waiter of [...(this.waiters.get(decision.requestId) ?? [])]) waiter(decision);
  }
}
