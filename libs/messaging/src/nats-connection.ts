import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';

/**
 * Connects and keeps reconnecting for ever: a service waits for NATS (not ready) instead of crashing,
 * and rides out a NATS restart.
 */
export async function connectNats(url: string, name: string, credentials: { nkeySeed?: Uint8Array; inboxPrefix?: string; tlsCaFile?: string } = {}): Promise<NatsConnection> {
  return connect({
    servers: url.split(','),
    name,
    // An nkey: the server knows only the public key, and the seed never appears on a command line.
    ...(credentials.nkeySeed ? { authenticator: nkeyAuthenticator(credentials.nkeySeed) } : {}),
    ...(credentials.inboxPrefix ? { inboxPrefix: credentials.inboxPrefix } : {}),
    // TLS, with the server's certificate checked against this CA (and its name against the URL's host).
    ...(credentials.tlsCaFile ? { tls: { caFile: credentials.tlsCaFile } } : {}),
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    // Otherwise every request (each JetStream publish is one) builds two Error objects up front to carry the
    // caller's stack: 15 % of the sla service's CPU while firing a backlog of timers, plus the garbage.
    noAsyncTraces: true,
  });
}
