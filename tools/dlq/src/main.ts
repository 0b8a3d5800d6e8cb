import { parseArgs } from 'node:util';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type MsgHdrs } from '@nats-io/transport-node';
import { Namespace } from '@agf/messaging';

/**
 * `npm run dlq -- list` shows dead letters with their reasons; `npm run dlq -- replay <seq>…` (or `--all`)
 * publishes them back to their original subject and removes them from AGF_DLQ. Fix the cause first.
 * A replayed message keeps the headers it was sent with: a command or an expert's answer is judged again with
 * its sender's credential (`Authorization`; one that has expired since is refused), not the operator's.
 */
const HELP = `usage: npm run dlq -- list [--limit N]
       npm run dlq -- replay <seq> [<seq>…] | --all
env: NATS_URL (default nats://127.0.0.1:4222), AGF_NAMESPACE`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { all: { type: 'boolean', default: false }, limit: { type: 'string', default: '100' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command || !['list', 'replay'].includes(command)) {
    console.log(HELP);
    process.exit(command ? 2 : 0);
  }
  const namespace = new Namespace(process.env['AGF_NAMESPACE'] ?? '');
  const stream = namespace.stream('AGF_DLQ');
  const nc = await connect({ servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  try {
    const info = await jsm.streams.info(stream);
    if (command === 'list') {
      console.log(`${info.state.messages} dead letter(s) in ${stream}`);
      if (!info.state.messages) return;
      const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      const limit = Number(values.limit);
      for (let shown = 0; shown < limit; shown += 1) {
        const msg = await consumer.next({ expires: 1000 });
        if (!msg) break;
        const h = (key: string) => msg.headers?.get(key) ?? '';
        console.log(`#${msg.seq} ${h('Agf-Dlq-At')} ${h('Agf-Dlq-Consumer')} ← ${h('Agf-Dlq-Subject')} (stream seq ${h('Agf-Dlq-Stream-Seq')}, ${h('Agf-Dlq-Deliveries')} deliveries)\n   reason: ${h('Agf-Dlq-Reason')}\n   body: ${msg.string().slice(0, 300)}`);
        if (msg.seq >= info.state.last_seq) break;
      }
      return;
    }
    const sequences = values.all ? await allSequences(jsm, stream, info.state.first_seq, info.state.last_seq) : rest.map(Number);
    if (!sequences.length || sequences.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`replay: give sequence numbers from \`list\`, or --all\n${HELP}`);
    for (const seq of sequences) {
      const stored = await jsm.streams.getMessage(stream, { seq });
      if (!stored) {
        console.log(`#${seq}: not found`);
        continue;
      }
      const subject = stored.header.get('Agf-Dlq-Subject');
      if (!subject) throw new Error(`#${seq} has no Agf-Dlq-Subject header`);
      await js.publish(subject, stored.data, { msgID: `replay:${stream}:${seq}`, headers: originalHeaders(stored.header) });
      await jsm.streams.deleteMessage(stream, seq);
      console.log(`#${seq}: replayed to ${subject}`);
    }
  } finally {
    await nc.close();
  }
}

/** The headers the message was first published with: the dead-letter ones and NATS' own left out. */
function originalHeaders(stored: MsgHdrs): MsgHdrs {
  const h = headers();
  for (const [key, values] of stored) {
    if (/^(Agf-Dlq-|Nats-)/i.test(key)) continue;
    for (const value of values) h.append(key, value);
  }
  return h;
}

async function allSequences(jsm: Awaited<ReturnType<typeof jetstreamManager>>, stream: string, first: number, last: number): Promise<number[]> {
  const found: number[] = [];
  for (let seq = first; seq <= last && seq > 0; seq += 1) {
    if (await jsm.streams.getMessage(stream, { seq }).catch(() => null)) found.push(seq);
  }
  return found;
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
