// node liststreams.mjs [prefix-to-delete] : lists JetStream streams; deletes those starting with the prefix
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
const nc = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
const jsm = await jetstreamManager(nc);
const del = process.argv[2];
for await (const si of jsm.streams.list()) {
  const name = si.config.name;
  if (del && name.startsWith(del)) { await jsm.streams.delete(name); console.log('deleted', name); } else console.log(name, si.state.messages);
}
const consumers = 0;
await nc.close();
