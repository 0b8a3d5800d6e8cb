import { connect } from '@nats-io/transport-node';
import { Client } from 'pg';
import { OwnNatsServer, OwnPostgres } from '@agf/testing';

jest.setTimeout(120_000);

describe('servers of its own for fault tests', () => {
  it('starts, restarts and removes a nats-server and a Postgres cluster', async () => {
    const nats = await OwnNatsServer.start();
    const pg = await OwnPostgres.start();
    try {
      const nc = await connect({ servers: nats.url });
      await nc.flush();
      await nc.close();
      await nats.restart();
      const again = await connect({ servers: nats.url });
      await again.close();

      const admin = pg.url.replace(/\/agf$/, '/postgres');
      const client = new Client({ connectionString: admin });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      await client.end();
      await pg.restart();
      const after = new Client({ connectionString: admin });
      await after.connect();
      await after.end();
    } finally {
      await nats.stop();
      await pg.stop();
    }
  });
});
