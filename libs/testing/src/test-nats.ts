import { randomBytes } from 'node:crypto';
import { type CloudEvent, cloudEventSchema, type CloudEventEnvelope, createEvent, type EventName, type PayloadOf, STREAM_NAMES, type StreamName, subjectFor } from '@agf/contracts';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type MsgHdrs, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { Namespace } from '@agf/messaging';

export function natsUrl(): string {
  return process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
}

/** A namespace no other run uses: subjects `t<hex>.agf.v1…`, streams `T<HEX>_AGF_…`. */
export function randomNamespace(): Namespace {
  return new Namespace(`t${randomBytes(4).toString('hex')}`);
}

export interface StoredMessage {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  text: string;
  json<T = CloudEventEnvelope>(): T;
}

/** Test access to NATS within one namespace: publish, read whole streams, and delete them afterwards. */
export class TestNats {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly namespace: Namespace,
  ) {}

  /** `server`: another nats-server than the shared one, with the credentials of a user allowed to read and delete streams. */
  static async connect(namespace: Namespace = randomNamespace(), server?: { url: string; nkeySeed?: Uint8Array; inboxPrefix?: string; tlsCaFile?: string }): Promise<TestNats> {
    const nc = await connect({
      servers: server?.url ?? natsUrl(),
      ...(server?.nkeySeed ? { authenticator: nkeyAuthenticator(server.nkeySeed) } : {}),
      ...(server?.inboxPrefix ? { inboxPrefix: server.inboxPrefix } : {}),
      ...(server?.tlsCaFile ? { tls: { caFile: server.tlsCaFile } } : {}),
    });
    return new TestNats(nc, jetstream(nc), await jetstreamManager(nc), namespace);
  }

  /** Every message currently stored in a stream, optionally only those on a contract subject filter. */
  async read(stream: StreamName, subjectFilter?: string): Promise<StoredMessage[]> {
    const name = this.namespace.stream(stream);
    let info;
    try {
      info = await this.jsm.streams.info(name);
    } catch {
      return [];
    }
    if (!info.state.messages) return [];
    // NATS 2.9 ordered consumers take no filter: read everything and filter here.
    const consumer = await this.js.consumers.get(name, { deliver_policy: DeliverPolicy.All });
    const out: StoredMessage[] = [];
    const last = info.state.last_seq;
    for (;;) {
      const msg = await consumer.next({ expires: 1000 });
      if (!msg) break;
      const headers: Record<string, string> = {};
      for (const [key, values] of msg.headers ?? []) headers[key] = values[0] ?? '';
      const text = msg.string();
      const subject = this.namespace.strip(msg.subject) ?? msg.subject;
      if (!subjectFilter || matchesFilter(subject, subjectFilter)) {
        out.push({ subject, seq: msg.seq, headers, text, json: <T>() => JSON.parse(text) as T });
      }
      if (msg.seq >= last) break;
    }
    return out;
  }

  async publish(subject: string, body: string | Uint8Array, msgID?: string, headers?: Record<string, string>): Promise<void> {
    let h: MsgHdrs | undefined;
    if (headers) {
      h = natsHeaders();
      for (const [key, value] of Object.entries(headers)) h.set(key, value);
    }
    await this.js.publish(this.namespace.subject(subject), body, { ...(msgID ? { msgID } : {}), ...(h ? { headers: h } : {}) });
  }

  /**
   * Publishes a domain event as `source` would. The event is validated first: an invalid test event would be
   * dead-lettered and make a "nothing happened" assertion pass for the wrong reason.
   */
  async publishEvent<N extends EventName>(name: N, data: PayloadOf<N>, options: { correlationId: string; source?: string; id?: string }): Promise<CloudEvent<N>> {
    const event = createEvent({ name, source: options.source ?? 'test', data, correlationId: options.correlationId, id: options.id });
    cloudEventSchema(name).parse(event);
    await this.publish(subjectFor(name, (data as { projectId: string }).projectId), JSON.stringify(event), event.id);
    return event;
  }

  /** The durable (service) consumers of this namespace with messages not yet delivered or not yet acknowledged. */
  async consumerBacklog(): Promise<Array<{ consumer: string; pending: number }>> {
    const backlog: Array<{ consumer: string; pending: number }> = [];
    for (const stream of STREAM_NAMES) {
      // The test's own ordered readers are ephemeral and not AGF's business; every service consumer is durable.
      for await (const consumer of this.jsm.consumers.list(this.namespace.stream(stream))) {
        const pending = consumer.num_pending + consumer.num_ack_pending;
        if (consumer.config.durable_name && pending > 0) backlog.push({ consumer: `${stream}/${consumer.name}`, pending });
      }
    }
    return backlog;
  }

  /** Removes this namespace's streams (and so its consumers). */
  async cleanup(): Promise<void> {
    for (const stream of STREAM_NAMES) await this.jsm.streams.delete(this.namespace.stream(stream)).catch(() => undefined);
    await this.nc.close();
  }
}

/** NATS subject matching for `*` and a trailing `>`. */
export function matchesFilter(subject: string, filter: string): boolean {
  const s = subject.split('.');
  const f = filter.split('.');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return s.length === f.length;
}
