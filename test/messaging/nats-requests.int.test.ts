import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { RequestOne } from '@nats-io/nats-core/internal';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@agf/messaging';
import { natsUrl } from '@agf/testing';

/** The client every AGF process connects with (`connectNats`), on the shared NATS server. */
describe('NATS requests of connectNats connections', () => {
  const tag = randomBytes(4).toString('hex');
  const stream = `T${tag.toUpperCase()}_REQUESTS`;
  const subject = `t${tag}.requests`;
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connectNats(natsUrl(), 'nats-requests-test');
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${subject}.>`] });
  });

  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  it('settles an answered request (a JetStream publish) with stack capture off while nats.js discards its "cancelled" error', async () => {
    const limitBefore = Error.stackTraceLimit;
    const limitsAtCancel: number[] = [];
    const prototype = RequestOne.prototype as unknown as { cancel(error?: Error): void };
    const cancel = prototype.cancel;
    prototype.cancel = function (this: unknown, error?: Error) {
      limitsAtCancel.push(Error.stackTraceLimit);
      return cancel.call(this, error);
    };
    try {
      const ack = await jetstream(nc).publish(`${subject}.one`, 'hello', { msgID: `${tag}-one` });
      expect(ack).toMatchObject({ stream, seq: 1, duplicate: false });
    } finally {
      prototype.cancel = cancel;
    }
    // nats.js cancels the request it has just resolved; that error is built without a stack.
    expect(limitsAtCancel).toEqual([0]);
    expect(Error.stackTraceLimit).toBe(limitBefore);
  });

  it('still rejects a failed request with an error that has its stack', async () => {
    const error = (await nc.request(`${subject}-nobody-answers`, 'ping', { timeout: 2000 }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.stack).toMatch(/\n\s+at /);
  });
});
