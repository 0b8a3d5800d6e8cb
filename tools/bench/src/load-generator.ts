import { connect } from '@nats-io/transport-node';
import { benchRequestBody } from './bench-request';
import { type LatencySummary, summarise } from './stats';

/**
 * The load generator runs as its own process (forked by the benchmark) so that its CPU does not count
 * against the system under test. It offers requests at a fixed rate, open-loop (a slow answer does not
 * slow the offer down), and times each from the HTTP accept (202 received) to the decision arriving on NATS.
 */
export interface LoadRun {
  /** Requests go to these in turn (one per replica of the ingress). */
  submitUrls: string[];
  /** `Authorization` header value sent with every request, if the system wants one. */
  authorization?: string;
  natsUrl: string;
  /** Core NATS subscription that sees every decision (JetStream-stored messages are delivered to it too). */
  decisionSubject: string;
  rate: number;
  durationSeconds: number;
  /** How long to wait after the last offer for decisions still in flight. */
  drainSeconds: number;
  label: string;
}

export interface LoadResult {
  label: string;
  rate: number;
  offered: number;
  accepted: number;
  errors: number;
  errorSamples: string[];
  decided: number;
  undecided: number;
  decisionsPerSecond: number;
  latencyMs: LatencySummary;
  outcomes: Record<string, number>;
}

async function run(spec: LoadRun): Promise<LoadResult> {
  const nc = await connect({ servers: spec.natsUrl });
  const acceptedAt = new Map<string, number>();
  const decidedAt = new Map<string, number>();
  const outcomes: Record<string, number> = {};
  const subscription = nc.subscribe(spec.decisionSubject, {
    callback: (_error, msg) => {
      const now = performance.now();
      try {
        const event = msg.json<{ data: { requestId: string; outcome?: string } }>();
        if (!decidedAt.has(event.data.requestId)) decidedAt.set(event.data.requestId, now);
        const outcome = event.data.outcome ?? 'unknown';
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      } catch {
        // not a decision of ours
      }
    },
  });
  await nc.flush();

  let offered = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const headers = { 'content-type': 'application/json', ...(spec.authorization ? { authorization: spec.authorization } : {}) };
  const submit = async (i: number): Promise<void> => {
    try {
      const response = await fetch(spec.submitUrls[i % spec.submitUrls.length]!, { method: 'POST', headers, body: benchRequestBody(i) });
      const now = performance.now();
      const text = await response.text();
      if (response.status !== 202) throw new Error(`${response.status} ${text.slice(0, 120)}`);
      acceptedAt.set((JSON.parse(text) as { id: string }).id, now);
    } catch (error) {
      errors += 1;
      if (errorSamples.length < 5) errorSamples.push((error as Error).message);
    }
  };

  const started = performance.now();
  const total = Math.round(spec.rate * spec.durationSeconds);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * spec.rate));
      while (offered < due) {
        const p = submit(offered);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        offered += 1;
      }
      if (offered >= total) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  await Promise.all(inFlight);
  const drainUntil = performance.now() + spec.drainSeconds * 1000;
  while (performance.now() < drainUntil && [...acceptedAt.keys()].some((id) => !decidedAt.has(id))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  subscription.unsubscribe();
  await nc.close();

  const latencies: number[] = [];
  let lastDecision = started;
  for (const [id, accepted] of acceptedAt) {
    const decided = decidedAt.get(id);
    if (decided === undefined) continue;
    // A decision can overtake the HTTP response on a loaded machine; it is then counted as 0 ms, not negative.
    latencies.push(Math.max(0, decided - accepted));
    lastDecision = Math.max(lastDecision, decided);
  }
  const decided = latencies.length;
  return {
    label: spec.label,
    rate: spec.rate,
    offered,
    accepted: acceptedAt.size,
    errors,
    errorSamples,
    decided,
    undecided: acceptedAt.size - decided,
    decisionsPerSecond: decided / ((lastDecision - started) / 1000),
    latencyMs: summarise(latencies),
    outcomes,
  };
}

process.on('message', (message: LoadRun) => {
  run(message).then(
    (result) => process.send?.(result),
    (error: unknown) => {
      console.error(`load generator: ${(error as Error).stack ?? error}`);
      process.exit(1);
    },
  );
});

// The bench that forked it is gone (interrupted, or killed): offering load to no one would only disturb the host.
process.once('disconnect', () => process.exit(0));
