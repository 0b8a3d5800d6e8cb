import { parseArgs } from 'node:util';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { cloudEventSchema, createEvent, type ReviewRejected, type ReviewRequested, type ReviewSubmit, subjectFilterFor, subjectFor } from '@agf/contracts';
import { Namespace } from '@agf/messaging';

/**
 * A runnable external automated expert: the protocol a team follows to plug its own scanner or AI
 * reviewer into AGF (docs/external-experts.md).
 *
 * 1. Register the expert in agf-config.yaml with `type: automated`, `runtime: external` and the subject of
 *    its credential in `principal:`; an admin issues it an API key (role `reviewer`) for that subject.
 * 2. Read work from `agf.v1.review.requested.<expertId>` (stream AGF_REVIEW) with a durable consumer of
 *    your own, so nothing is missed while the expert is down.
 * 3. Answer each assignment with a `review.submit` CloudEvent on the `replySubject` it names
 *    (`agf.v1.review.submit.<projectId>`), `Nats-Msg-Id` = the event id and `Authorization: Bearer <key>`,
 *    then ack the work item.
 *    A redelivered work item answered twice is harmless: the CoE accepts one answer per assignment.
 * 4. Optionally listen on `agf.v1.review.rejected.>` for answers the CoE did not take, with the reason
 *    (an assignment reassigned after a missed SLA, a request decided meanwhile, …).
 *
 * This example rejects requests whose changes mention a TODO and approves the rest.
 */
const HELP = `usage: npm run example-expert -- --expert <expertId> [--key <API key>] [--once]
  --key   an API key with the role reviewer whose subject agf-config.yaml binds to the expert (principal:);
          AGF_EXPERT_KEY if not given (prefer it: a command line is visible to every user of the host)
env: AGF_EXPERT_KEY, NATS_URL (default nats://127.0.0.1:4222), AGF_NAMESPACE`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { expert: { type: 'string' }, key: { type: 'string' }, once: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help || !values.expert) {
    console.log(HELP);
    process.exit(values.help ? 0 : 2);
  }
  const expertId = values.expert;
  const key = (values.key ?? process.env['AGF_EXPERT_KEY'] ?? '').trim();
  if (!key) {
    // The CoE would refuse every answer (unauthenticated): better not to take work at all.
    console.error(
      `${expertId}: no credential. The CoE takes an answer only from a principal bound to the expert: pass --key or set AGF_EXPERT_KEY to an API key\n` +
        `with the role reviewer whose subject is in the expert's principal: list in agf-config.yaml (docs/external-experts.md).`,
    );
    process.exit(2);
  }
  const authorization = `Bearer ${key}`;
  const namespace = new Namespace(process.env['AGF_NAMESPACE'] ?? '');
  const nc = await connect({ servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222', maxReconnectAttempts: -1 });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = namespace.stream('AGF_REVIEW');
  const durable = `expert-${expertId}`;
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: namespace.subject(subjectFor('review.requested', expertId)),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_deliver: 10,
  });
  const consumer = await js.consumers.get(stream, durable);
  // Rejections are published per project; an expert picks out its own.
  const rejections = nc.subscribe(namespace.subject(subjectFilterFor('review.rejected')), {
    callback: (error, msg) => {
      if (error) return;
      let body: unknown;
      try {
        body = JSON.parse(msg.string());
      } catch {
        return; // not AGF's: AGF publishes CloudEvents in JSON
      }
      const parsed = cloudEventSchema('review.rejected').safeParse(body);
      const rejected = parsed.success ? (parsed.data.data as ReviewRejected) : undefined;
      if (rejected?.expertId === expertId) console.warn(`${expertId}: answer for ${rejected.requestId} rejected (${rejected.code}): ${rejected.reason}`);
    },
  });
  await nc.flush(); // the server has the subscription before the expert says it is waiting
  console.log(`${expertId}: waiting for assignments on ${subjectFor('review.requested', expertId)}`);
  const messages = await consumer.consume({ max_messages: 16 });
  for await (const msg of messages) {
    const parsed = cloudEventSchema('review.requested').safeParse(msg.json());
    if (!parsed.success) {
      console.error(`${expertId}: not a review.requested event, terminating it: ${parsed.error.message}`);
      msg.term();
      continue;
    }
    const work = parsed.data.data as ReviewRequested;
    const verdict = review(work);
    const answer = createEvent({
      name: 'review.submit',
      source: `expert-${expertId.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`,
      correlationId: work.requestId,
      causationId: parsed.data.id,
      data: verdict,
    });
    const h = headers();
    h.set('Authorization', authorization);
    await js.publish(namespace.subject(work.replySubject), JSON.stringify(answer), { msgID: answer.id, headers: h });
    msg.ack();
    console.log(`${expertId}: ${verdict.decision} ${work.requestId} (${work.request.componentName} ${work.request.version})`);
    if (values.once) break;
  }
  rejections.unsubscribe();
  await nc.drain();
}

/** The expert's own judgement; replace with your scanner or model. */
function review(work: ReviewRequested): ReviewSubmit {
  const todos = work.request.changes.filter((change) => /\bTODO\b/.test(change));
  return {
    requestId: work.requestId,
    projectId: work.projectId,
    assignmentId: work.assignmentId,
    expertId: work.expertId,
    decision: todos.length ? 'reject' : 'approve',
    comments: todos.length ? `${todos.length} change(s) still marked TODO` : `no TODO left in ${work.request.changes.length} change(s)`,
    conditions: [],
    confidence: 0.7,
    submittedAt: new Date().toISOString(),
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
