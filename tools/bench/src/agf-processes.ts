import { fork } from 'node:child_process';
import { join } from 'node:path';
import { STREAM_NAMES } from '@agf/contracts';
import { ServiceProcess, type ServiceName, type TestDatabase, type TestNats } from '@agf/testing';
import type { LoadResult, LoadRun } from './load-generator';

/** What the benches share: AGF's services started as for a measurement, the load generator, and waiting for the consumers. */

export async function runLoad(spec: LoadRun): Promise<LoadResult> {
  const child = fork(join(__dirname, 'load-generator.js'), { stdio: 'inherit' });
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      child.once('message', (result) => resolve(result as LoadResult));
      child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
      child.send(spec);
    });
  } finally {
    child.kill();
  }
}

export async function waitForConsumersToDrain(nats: TestNats, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let behind = 0;
    for (const stream of STREAM_NAMES) {
      const name = nats.namespace.stream(stream);
      const exists = await nats.jsm.streams.info(name).catch(() => undefined);
      if (!exists) continue;
      for await (const consumer of nats.jsm.consumers.list(name)) behind += consumer.num_pending + consumer.num_ack_pending;
    }
    if (!behind) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function startAgf(db: TestDatabase, nats: TestNats, names: readonly ServiceName[], options: { replicas?: number; env?: Record<string, string> } = {}): Promise<ServiceProcess[]> {
  // The outbox poll at its default (tests poll every 200 ms to recover fast from the outages they stage).
  // One client and one principal offer all the load: neither rate limit may hold it back.
  const env = { AGF_RATE_LIMIT_PER_MINUTE: '10000000', AGF_RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '10000000', LOG_LEVEL: 'warn', AGF_OUTBOX_POLL_MS: '1000', ...options.env };
  // One after another: each creates streams and consumers; at the same time they only contend.
  const services: ServiceProcess[] = [];
  for (let replica = 1; replica <= (options.replicas ?? 1); replica++) {
    for (const name of names) services.push(await ServiceProcess.start(name, { databaseUrl: db.url, namespace: nats.namespace.prefix, env, ownNiceness: true }));
  }
  return services;
}
