import {
  CATALOG,
  dlqSubject,
  findUnstorableStrings,
  type MessageName,
  UNSTORABLE_STRING_MESSAGE,
  messageNameOfSubject,
  parseEvent,
  type EventName,
  type StreamName,
  STREAM_NAMES,
  Uuid,
} from '@agf/contracts';
import { type ConsumerMessages, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isObservable, lastValueFrom } from 'rxjs';
import type { DataSource } from 'typeorm';
import { claimInboxEntriesWithOutboxAndCommit, InboxEntryTaken, isInboxClaimed } from './inbox';
import { DeferredWrites, type IncomingCommand, type InvalidMessage, MessageContext, RequestLocks, type ToOutboxRow } from './message-context';
import { eventOfInvalidMessagePattern, invalidMessagePattern } from './on-event.decorator';
import type { Namespace } from './namespace';
import { EventTooLarge, type OutboxRow, toOutboxRow } from './outbox';
import type { OutboxRelay } from './outbox-relay';
import { headerSafe, isDatabaseUnavailable, redeliveryDelayMs } from './retry-policy';
import { Semaphore } from './semaphore';
import { type DurableConsumerPlan, durableConsumersOf, isDurableOfService } from './durable-consumers';
import { ensureServiceConsumers, ensureStreams, retireUnreadConsumers, type StreamOptions, unreadConsumerKept } from './topology';

export type HandlerResult = 'processed' | 'duplicate' | 'ignored' | 'retried' | 'dead_lettered';

export interface HandlerObserver {
  (observation: { consumer: string; message: string; result: HandlerResult; seconds: number }): void;
}

export interface JetStreamServerOptions {
  service: string;
  schema: string;
  nc: NatsConnection;
  dataSource: DataSource;
  namespace: Namespace;
  relay: OutboxRelay;
  streamOptions: StreamOptions;
  /** Batches (or single messages) in flight at once, across all of the service's consumers. */
  concurrency: number;
  /**
   * Transactions all consumers of the service run at once. Kept below the database pool size, so that HTTP
   * requests still get a connection while a backlog is worked off (instead of waiting for one and failing).
   */
  maxTransactions?: number;
  /**
   * Up to this many messages that are already waiting are handled in one transaction (1 = never). Batches
   * only form under load, so an idle system keeps its latency; a failing batch is retried message by message.
   */
  batchSize?: number;
  /**
   * A batching consumer that dispatched less than this long ago waits up to this long for a fuller batch
   * (like Nagle's algorithm): under steady load messages share transactions instead of each paying for its
   * own, while the first message after a quiet spell is handled at once. 0 = never wait.
   */
  batchLingerMs?: number;
  /** Deliveries before a failing message is dead-lettered. */
  maxDeliver: number;
  /** Streams and this service's consumers were created by the provisioning step: only wait for them. */
  provisioned?: boolean;
  ackWaitMs: number;
  retryBaseMs: number;
  observe?: HandlerObserver;
}

/**
 * How many messages a consumer lets NATS send ahead, and how low that may fall before it asks for more. The
 * client's default refill threshold (three quarters of the window) sends a pull request for every few
 * messages when they trickle in, as events do; each is a socket write and work for nats-server. Refilling at
 * a quarter asks once per three quarters of a window, and still leaves room for the messages that arrive
 * while the refill is on its way. The window stays small (twice the concurrency, or a batch where that is
 * larger): a message sent ahead waits unhandled while its ack wait runs.
 */
function pullWindow(concurrency: number, batchSize: number): { max_messages: number; threshold_messages: number } {
  const max_messages = Math.max(concurrency * 2, batchSize);
  return { max_messages, threshold_messages: Math.max(1, Math.floor(max_messages / 4)) };
}

/** Invalid input that no retry can fix: dead-letter at once. */
export class PoisonMessage extends Error {
  override name = 'PoisonMessage';

  /** `body`: the message's JSON where it parsed, for an `@OnInvalidMessage` handler. */
  constructor(
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/**
 * NestJS transport over JetStream durable pull consumers. Per stream a service reads, one durable consumer
 * named after the service (shared by all its replicas). Each message: validate against the catalog, then
 * in one Postgres transaction run the handler, and claim the inbox entry and write the events it emitted
 * to the outbox in one last statement, which carries the COMMIT with it; ack. A claim that finds the entry
 * taken fails, and everything rolls back: the message was a duplicate (optimistic claim: duplicates are rare,
 * round trips per transaction are not). Failures are redelivered with backoff, and dead-lettered after
 * `maxDeliver`.
 */
export class JetStreamServer extends Server implements CustomTransportStrategy {
  private readonly js: JetStreamClient;
  private readonly subscriptions: ConsumerMessages[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
  private readonly tracer = trace.getTracer('agf-messaging');
  private readonly handlerCache = new Map<string, MessageHandler>();
  private readonly transactionSlots: Semaphore;
  private readonly waiting: Array<{ stream: StreamName; msg: JsMsg }> = [];
  private wakeDispatcher: (() => void) | undefined;
  private readonly resumeFetchers: Array<() => void> = [];
  private readonly toOutboxRow: ToOutboxRow = (event) => toOutboxRow(this.options.service, this.options.namespace, event);

  constructor(private readonly options: JetStreamServerOptions) {
    super();
    this.js = jetstream(options.nc);
    this.transactionSlots = new Semaphore(options.maxTransactions ?? Number.MAX_SAFE_INTEGER);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const { nc, namespace, streamOptions } = this.options;
      const jsm = await jetstreamManager(nc);
      const plans = durableConsumersOf(this.options.service, this.handledMessages());
      if (this.options.provisioned) {
        // Streams and consumers come from the provisioning step (`agf provision`): this service has no JetStream admin rights.
        for (const plan of plans) await this.waitForConsumer(jsm, plan);
      } else {
        await ensureStreams(jsm, namespace, streamOptions);
        const read = new Set(plans.map((plan) => plan.stream));
        // A stream the service no longer reads (after an upgrade): its old durable would only pile up messages.
        for (const stream of STREAM_NAMES.filter((name) => !read.has(name))) {
          const ofThisService = (durable: string): boolean => isDurableOfService(this.options.service, stream, durable);
          for (const { durable, waiting } of await retireUnreadConsumers(jsm, namespace, stream, ofThisService)) {
            this.logger.warn(unreadConsumerKept(namespace.stream(stream), durable, waiting));
          }
        }
        await ensureServiceConsumers(jsm, namespace, this.options.service, plans, {
          maxDeliver: this.options.maxDeliver,
          ackWaitMs: this.options.ackWaitMs,
          maxAckPending: this.options.concurrency * 20,
        });
      }
      for (const plan of plans) this.loops.push(this.fetchLoop(plan));
      this.loops.push(this.dispatchLoop());
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const subscription of this.subscriptions) await subscription.close().catch(() => undefined);
    this.wakeDispatcher?.();
    for (const resume of this.resumeFetchers.splice(0)) resume();
    await Promise.allSettled([...this.inFlight]);
  }

  on(): never {
    throw new Error('JetStreamServer has no events to listen to');
  }

  unwrap<T>(): T {
    return this.js as T;
  }

  /** Waits (logging now and then) until the provisioning step has created this service's consumer on the stream. */
  private async waitForConsumer(jsm: JetStreamManager, plan: DurableConsumerPlan): Promise<void> {
    const name = this.options.namespace.stream(plan.stream);
    for (let attempt = 1; ; attempt++) {
      try {
        await jsm.consumers.info(name, plan.durable);
        return;
      } catch (error) {
        if (attempt === 1 || attempt % 30 === 0) this.logger.warn(`waiting for the consumer ${name}/${plan.durable} (run agf provision): ${describeError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private handledMessages(): MessageName[] {
    const handled: MessageName[] = [];
    const patterns = [...this.messageHandlers.keys()];
    for (const pattern of patterns) {
      const invalidOf = eventOfInvalidMessagePattern(pattern);
      if (invalidOf !== undefined) {
        if (!patterns.includes(invalidOf)) throw new Error(`@OnInvalidMessage('${invalidOf}') needs an @OnMessage('${invalidOf}') handler, whose consumer brings it the messages`);
        continue;
      }
      const name = pattern as MessageName;
      if (!CATALOG[name]) throw new Error(`@OnMessage('${pattern}'): not a message of the contracts catalog`);
      handled.push(name);
    }
    return handled;
  }

  /**
   * Takes what is waiting, from every stream the service reads, whenever a slot frees up: one message when
   * idle, up to `batchSize` under load. One queue for all streams, so that a service reading many streams
   * (compliance reads all of them) forms one batch per transaction rather than one per stream.
   */
  private async dispatchLoop(): Promise<void> {
    const { concurrency } = this.options;
    const batchSize = this.batchSize();
    const slots = new Semaphore(concurrency);
    const lingerMs = batchSize > 1 ? (this.options.batchLingerMs ?? 0) : 0;
    let lastDispatch = -Infinity;
    const arrivalOrTimeout = (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeDispatcher = done;
      });
    while (!this.closing) {
      if (!this.waiting.length) {
        await new Promise<void>((resolve) => (this.wakeDispatcher = resolve));
        continue;
      }
      // Under steady load (the last dispatch was recent) wait briefly for a fuller batch.
      const lingerUntil = lastDispatch + lingerMs;
      while (this.waiting.length < batchSize && performance.now() < lingerUntil && !this.closing) {
        await arrivalOrTimeout(lingerUntil - performance.now());
      }
      await slots.acquire();
      await this.transactionSlots.acquire();
      lastDispatch = performance.now();
      const batch = this.waiting.splice(0, batchSize);
      for (const resume of this.resumeFetchers.splice(0)) resume();
      if (!batch.length) {
        this.transactionSlots.release();
        slots.release();
        continue;
      }
      const work = (batch.length === 1 ? this.process(batch[0]!.stream, batch[0]!.msg) : this.processBatch(batch)).finally(() => {
        this.transactionSlots.release();
        slots.release();
        this.inFlight.delete(work);
      });
      this.inFlight.add(work);
    }
  }

  private batchSize(): number {
    return Math.max(1, this.options.batchSize ?? 1);
  }

  /** Pulls one consumer's messages into the shared queue. */
  private async fetchLoop({ stream, durable }: DurableConsumerPlan): Promise<void> {
    const { namespace, concurrency } = this.options;
    // Backpressure: messages are taken from NATS only as fast as they are handled, so none waits here long
    // enough to reach its ack wait (and be redelivered, or given up on after max deliveries).
    const highWater = this.batchSize() * 2;
    while (!this.closing) {
      try {
        const consumer = await this.js.consumers.get(namespace.stream(stream), durable);
        const messages = await consumer.consume(pullWindow(concurrency, this.batchSize()));
        this.subscriptions.push(messages);
        for await (const msg of messages) {
          this.waiting.push({ stream, msg });
          this.wakeDispatcher?.();
          this.wakeDispatcher = undefined;
          while (this.waiting.length >= highWater && !this.closing) await new Promise<void>((resolve) => this.resumeFetchers.push(resolve));
        }
      } catch (error) {
        if (this.closing) break;
        this.logger.warn(`${durable}/${stream}: consumer interrupted (${(error as Error).message}); resuming`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    // Messages still waiting are not acked: JetStream redelivers them to whoever runs next.
  }

  private async process(stream: StreamName, msg: JsMsg): Promise<void> {
    const started = performance.now();
    const subject = this.options.namespace.strip(msg.subject) ?? msg.subject;
    const name = messageNameOfSubject(subject);
    const observe = (result: HandlerResult): void =>
      this.options.observe?.({ consumer: `${this.options.service}/${stream}`, message: name ?? 'unknown', result, seconds: (performance.now() - started) / 1000 });

    if (!name || !this.messageHandlers.has(name)) {
      msg.ack();
      return observe('ignored');
    }
    const parentContext = propagation.extract(context.active(), { traceparent: msg.headers?.get('traceparent') ?? '' });
    await context.with(parentContext, () =>
      this.tracer.startActiveSpan(`${subject} process`, { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } }, async (span) => {
        const heartbeat = setInterval(() => msg.working(), Math.max(1000, this.options.ackWaitMs / 2));
        try {
          const { result, committed } = await this.processThroughDatabaseOutages(name, subject, msg);
          // The ack and the events the transaction emitted leave in one socket write: both are queued in this
          // synchronous block, and the client writes what is queued once the block ends.
          msg.ack();
          committed();
          observe(result);
        } catch (error) {
          if (!(error instanceof PoisonMessage) && (await this.processedBefore(name, msg).catch(() => false))) {
            // A duplicate whose handler failed (the state it acts on has moved on): done, not a failure.
            msg.ack();
            observe('duplicate');
          } else {
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
            observe(await this.handleFailure(stream, msg, error));
          }
        } finally {
          clearInterval(heartbeat);
          span.end();
        }
      }),
    );
  }

  /**
   * A database that cannot be reached or has no connection to give says nothing of the message: it is held
   * here (its ack wait kept alive) and tried again until the database answers: redelivered, it would spend
   * its deliveries and be dead-lettered, leaving its request undecided until someone replayed it.
   */
  private async processThroughDatabaseOutages(name: MessageName, subject: string, msg: JsMsg): Promise<Processed> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.processInTransaction(name, subject, msg);
      } catch (error) {
        if (!isDatabaseUnavailable(error) || this.closing) throw error;
        const delay = redeliveryDelayMs(attempt, this.options.retryBaseMs, Math.min(5000, this.options.ackWaitMs / 2));
        if (attempt === 1 || attempt % 20 === 0) this.logger.warn(`${subject} #${msg.seq}: the database is unavailable (${describeError(error)}); held, tried again in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * Several waiting messages in one transaction: each runs its handler in its own trace context; one last
   * statement claims their inbox entries and writes the outbox rows; effects commit together, then every
   * message is acked. Messages are taken in correlation-id order, so concurrent batches lock per-request rows
   * in one order and cannot deadlock on them. If anything in the batch fails, or one of its entries was
   * claimed before (a duplicate), nothing of it commits and each message is processed on its own (retries,
   * duplicates and dead letters then work per message, as without batching).
   */
  private async processBatch(batch: Array<{ stream: StreamName; msg: JsMsg }>): Promise<void> {
    const started = performance.now();
    const { dataSource, schema, service, namespace, relay } = this.options;
    const decoded: Array<{ stream: StreamName; msg: JsMsg; name: MessageName; subject: string } & Decoded> = [];
    const individually: Array<{ stream: StreamName; msg: JsMsg }> = [];
    for (const { stream, msg } of batch) {
      const subject = namespace.strip(msg.subject) ?? msg.subject;
      const name = messageNameOfSubject(subject);
      try {
        if (!name || !this.messageHandlers.has(name)) throw new Error('not handled here');
        const message = this.decode(name, msg);
        // An invalid one takes the single path: its handler may dead-letter it, which would roll a batch back.
        if (message.pattern !== name) throw new Error('invalid');
        decoded.push({ stream, msg, name, subject, ...message });
      } catch {
        individually.push({ stream, msg }); // ignored or invalid: the single path acks, answers or dead-letters it
      }
    }
    decoded.sort(byCorrelationId);
    const heartbeat = setInterval(() => decoded.forEach((d) => d.msg.working()), Math.max(1000, this.options.ackWaitMs / 2));
    let results: Array<'processed'> | undefined;
    const outboxRows: OutboxRow[] = [];
    let deferredWrites = new DeferredWrites();
    try {
      results = await dataSource.transaction(async (manager) => {
        const outcomes: Array<'processed'> = [];
        outboxRows.length = 0;
        deferredWrites = new DeferredWrites();
        const correlations: string[] = [];
        const inboxIds: string[] = [];
        for (const d of decoded) {
          if (d.envelope?.correlationid) correlations.push(d.envelope.correlationid);
          inboxIds.push(d.inboxId);
        }
        const locks = new RequestLocks(service, correlations);
        const contexts: MessageContext[] = [];
        let changedNothing = true;
        for (const d of decoded) {
          const ctx = new MessageContext(manager, d.msg, d.subject, d.envelope, deferredWrites, locks, this.toOutboxRow);
          contexts.push(ctx);
          await this.invokeInSpan(d, ctx);
          outcomes.push('processed');
        }
        await deferredWrites.writeAll(manager);
        // After the deferred writes, which may emit too (`emitterForLater`).
        for (const ctx of contexts) {
          outboxRows.push(...ctx.outboxRows);
          changedNothing &&= ctx.changedNothing;
        }
        if (changedNothing) return outcomes;
        await claimInboxEntriesWithOutboxAndCommit(manager, schema, service, inboxIds, outboxRows);
        return outcomes;
      });
    } catch {
      results = undefined;
    } finally {
      clearInterval(heartbeat);
    }
    if (results) {
      const seconds = (performance.now() - started) / 1000 / Math.max(1, decoded.length);
      for (let i = 0; i < decoded.length; i++) {
        const d = decoded[i]!;
        d.msg.ack();
        this.options.observe?.({ consumer: `${service}/${d.stream}`, message: d.name, result: results[i]!, seconds });
      }
      for (const callback of deferredWrites.afterCommit) callback();
      relay.publishCommitted(outboxRows);
    } else {
      individually.push(...decoded);
    }
    for (const { stream, msg } of individually) await this.process(stream, msg);
  }

  /**
   * A batch's message handled in a span of its own, continuing the trace of its `traceparent`. Spelled out as
   * a method with arguments rather than closures made per message: V8 drops the optimised code of closures
   * that no live object holds at each major collection, and compiles them again once they are hot (at 80/s,
   * hundreds of recompilations a minute in a busy service).
   */
  private async invokeInSpan(d: { msg: JsMsg; subject: string; pattern: string; payload: unknown }, ctx: MessageContext): Promise<void> {
    const parent = propagation.extract(context.active(), { traceparent: d.msg.headers?.get('traceparent') ?? '' });
    const span = this.tracer.startSpan(`${d.subject} process`, { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': d.subject } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), this.invokeOrFail, this, d.pattern, d.payload, ctx);
    } finally {
      span.end();
    }
  }

  private async invokeOrFail(pattern: string, payload: unknown, ctx: MessageContext): Promise<void> {
    try {
      await this.invoke(pattern, payload, ctx);
    } catch (error) {
      throw ctx.failure ?? error;
    }
  }

  /** Runs the handler in a transaction; what follows its commit (callbacks, publishing its events) is left to the caller, after the ack. */
  private async processInTransaction(name: MessageName, subject: string, msg: JsMsg): Promise<Processed> {
    const { payload, envelope, inboxId, pattern } = this.decode(name, msg);
    const { dataSource, schema, service, relay } = this.options;
    let outboxRows: OutboxRow[] = [];
    let deferredWrites = new DeferredWrites();
    const result = await dataSource.transaction(async (manager) => {
      outboxRows = [];
      deferredWrites = new DeferredWrites();
      const ctx = new MessageContext(manager, msg, subject, envelope, deferredWrites, new RequestLocks(service), this.toOutboxRow);
      try {
        await this.invoke(pattern, payload, ctx);
      } catch (error) {
        throw ctx.failure ?? error;
      }
      await deferredWrites.writeAll(manager);
      outboxRows = ctx.outboxRows;
      if (!ctx.changedNothing) await claimInboxEntriesWithOutboxAndCommit(manager, schema, service, [inboxId], outboxRows);
      // An invalid message whose handler neither wrote nor emitted anything was dropped: say so in the metrics.
      return pattern !== name && ctx.changedNothing ? ('ignored' as const) : ('processed' as const);
    }).catch((error: unknown) => {
      if (error instanceof InboxEntryTaken) return 'duplicate' as const;
      throw error;
    });
    if (result === 'duplicate') return { result, committed: () => undefined };
    return {
      result,
      committed: () => {
        for (const callback of deferredWrites.afterCommit) callback();
        relay.publishCommitted(outboxRows);
      },
    };
  }

  /** Whether an earlier delivery of this message committed (its inbox entry exists). */
  private async processedBefore(name: MessageName, msg: JsMsg): Promise<boolean> {
    try {
      const { inboxId } = this.decode(name, msg);
      return await isInboxClaimed(this.options.dataSource, this.options.schema, this.options.service, inboxId);
    } catch {
      return false;
    }
  }

  /**
   * Validates a message against the catalog. An invalid event goes to its `@OnInvalidMessage` handler where
   * there is one (its inbox entry is then its envelope id marked invalid, so a corrected event resent with that
   * id is not mistaken for a duplicate), and is dead-lettered at once otherwise.
   */
  private decode(name: MessageName, msg: JsMsg): Decoded {
    try {
      return this.decodeValid(name, msg);
    } catch (error) {
      const pattern = invalidMessagePattern(name as EventName);
      if (!(error instanceof PoisonMessage) || !this.messageHandlers.has(pattern)) throw error;
      const id = (error.body as { id?: unknown } | undefined)?.id;
      const payload: InvalidMessage = { body: error.body, reason: error.message };
      return { payload, envelope: undefined, inboxId: Uuid.safeParse(id).success ? `invalid:${id as string}` : `${msg.info.stream}:${msg.seq}`, pattern };
    }
  }

  private decodeValid(name: MessageName, msg: JsMsg): Decoded {
    const text = msg.string();
    let body: unknown;
    let parseError: string | undefined;
    try {
      body = JSON.parse(text);
    } catch (error) {
      parseError = (error as Error).message;
    }
    if (CATALOG[name].kind === 'command') {
      // Commands come from outside AGF; their handler answers bad input with a rejection event.
      const command: IncomingCommand = { body, parseError, size: msg.data.length };
      return { payload: command, envelope: undefined, inboxId: `${msg.info.stream}:${msg.seq}`, pattern: name };
    }
    if (parseError) throw new PoisonMessage(`not JSON: ${parseError}`);
    // NUL characters and unpaired surrogates are valid JSON that no handler could store (Postgres text and
    // jsonb refuse them); JSON text can only hold them escaped, so the walk runs only where an escape is.
    const unstorable = ESCAPED_NUL_OR_SURROGATE.test(text) ? findUnstorableStrings(body) : [];
    if (unstorable.length) throw new PoisonMessage(`invalid ${name}: ${UNSTORABLE_STRING_MESSAGE} at ${unstorable.join(', ')}`, body);
    const parsed = parseEvent(name as EventName, body);
    if (!parsed.ok) {
      throw new PoisonMessage(`invalid ${name}: ${parsed.issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}`, body);
    }
    return { payload: parsed.value, envelope: parsed.value, inboxId: parsed.value.id, pattern: name };
  }

  private async invoke(pattern: string, payload: unknown, ctx: MessageContext): Promise<void> {
    // Nest normalises the pattern on every lookup; the handlers do not change once listening.
    let handler = this.handlerCache.get(pattern);
    if (!handler) {
      handler = this.getHandlerByPattern(pattern) ?? undefined;
      if (handler) this.handlerCache.set(pattern, handler);
    }
    if (!handler) throw new Error(`no handler for ${pattern}`);
    const result: unknown = await handler(payload, ctx);
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
  }

  private async handleFailure(stream: StreamName, msg: JsMsg, error: unknown): Promise<HandlerResult> {
    const reason = describeError(error);
    // No retry makes the message valid, or the event it leads to smaller.
    const poison = error instanceof PoisonMessage || error instanceof EventTooLarge;
    const deliveries = msg.info.deliveryCount;
    if (!poison && deliveries < this.options.maxDeliver) {
      const delay = redeliveryDelayMs(deliveries, this.options.retryBaseMs);
      this.logger.warn(`${msg.subject} #${msg.seq}: delivery ${deliveries}/${this.options.maxDeliver} failed (${reason}); retry in ${delay} ms`);
      msg.nak(delay);
      return 'retried';
    }
    try {
      await this.deadLetter(stream, msg, reason);
      this.logger.error(`${msg.subject} #${msg.seq}: dead-lettered after ${deliveries} deliveries: ${reason}`);
      // No reason on the term: servers before 2.10.4 ignore a `+TERM` that carries one, and the message then
      // stays pending (holding one of the consumer's max-ack-pending slots) until its ack wait, and comes back
      // until its last delivery. The reason is in the dead letter.
      msg.term();
      return 'dead_lettered';
    } catch (dlqError) {
      // The DLQ is unreachable: keep the message rather than lose it.
      this.logger.error(`${msg.subject} #${msg.seq}: dead-lettering failed (${(dlqError as Error).message}); will retry`);
      msg.nak(redeliveryDelayMs(deliveries, this.options.retryBaseMs));
      return 'retried';
    }
  }

  private async deadLetter(stream: StreamName, msg: JsMsg, reason: string): Promise<void> {
    const { namespace, service } = this.options;
    const h = natsHeaders();
    for (const [key, values] of msg.headers ?? []) for (const value of values) if (key !== 'Nats-Msg-Id') h.append(key, value);
    h.set('Agf-Dlq-Reason', headerSafe(reason));
    h.set('Agf-Dlq-Subject', msg.subject);
    h.set('Agf-Dlq-Stream', msg.info.stream);
    h.set('Agf-Dlq-Stream-Seq', String(msg.seq));
    h.set('Agf-Dlq-Consumer', service);
    h.set('Agf-Dlq-Deliveries', String(msg.info.deliveryCount));
    h.set('Agf-Dlq-At', new Date().toISOString());
    await this.js.publish(namespace.subject(dlqSubject(service, stream)), msg.data, {
      msgID: `dlq:${msg.info.stream}:${service}:${msg.seq}`,
      headers: h,
    });
  }
}

const ESCAPED_NUL_OR_SURROGATE = /\\u(?:0000|[dD][89a-fA-F])/;

/** A message's transaction, ended: how, and what is left to do once it is acked (nothing for a duplicate). */
interface Processed {
  result: HandlerResult;
  committed: () => void;
}

/** A message as its handler gets it: the payload, the envelope of an event, its inbox entry, and which handler. */
interface Decoded {
  payload: unknown;
  envelope: MessageContext['envelope'];
  inboxId: string;
  /** The message's name, or its `@OnInvalidMessage` pattern. */
  pattern: string;
}

/** Batches lock per-request rows in correlation-id order, so concurrent batches cannot deadlock on them. */
function byCorrelationId(a: { envelope?: { correlationid?: string } }, b: { envelope?: { correlationid?: string } }): number {
  return (a.envelope?.correlationid ?? '').localeCompare(b.envelope?.correlationid ?? '');
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}
