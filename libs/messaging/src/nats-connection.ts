import { RequestOne } from '@nats-io/nats-core/internal';
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';

/**
 * Connects and keeps reconnecting for ever: a service waits for NATS (not ready) instead of crashing,
 * and rides out a NATS restart.
 */
export async function connectNats(url: string, name: string, credentials: { nkeySeed?: Uint8Array; inboxPrefix?: string; tlsCaFile?: string } = {}): Promise<NatsConnection> {
  settleRequestsWithoutStacks();
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

interface SettlingRequest {
  resolver(error: Error | null, msg: unknown): void;
}

let settlingWithoutStacks = false;

/**
 * nats.js (3.4) ends every answered request (each JetStream publish is one) by `cancel()`, which rejects the
 * promise it has just resolved with a new `RequestError('cancelled')`: an error nobody can see, whose stack
 * capture cost 1.4–2.7 % of each service's main thread. An answered request is settled here with stack capture
 * off for that moment; a failed one keeps its error's stack. Nothing else runs meanwhile: the resolution's
 * callbacks run later, as microtasks.
 */
export function settleRequestsWithoutStacks(): void {
  if (settlingWithoutStacks) return;
  const prototype = RequestOne.prototype as unknown as SettlingRequest;
  const resolver = prototype.resolver;
  if (typeof resolver !== 'function') throw new Error('nats.js RequestOne has no resolver: settleRequestsWithoutStacks needs a look after the upgrade');
  prototype.resolver = function (this: SettlingRequest, error, msg) {
    if (error) return resolver.call(this, error, msg);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      resolver.call(this, error, msg);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  settlingWithoutStacks = true;
}
