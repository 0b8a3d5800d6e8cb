import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

export interface ReceivedCall {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * GitHub's API as a GitHub App sees it: `POST /app/installations/:id/access_tokens` answers only a JWT signed
 * with the App's private key (checked with its public key, `iss` = the App id), and the deployment protection
 * rule callback accepts only the installation token it issued.
 */
export class FakeGitHub {
  readonly appId = '424242';
  readonly privateKeyPem: string;
  readonly callbacks: ReceivedCall[] = [];
  readonly tokenRequests: ReceivedCall[] = [];
  private readonly publicKey: KeyObject;
  private readonly issued = new Set<string>();
  private server?: Server;
  url = '';
  /** How many callbacks to answer 502 before accepting (to see the retries). */
  failNextCallbacks = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    this.publicKey = publicKey;
  }

  async start(): Promise<this> {
    const spki = await importSPKI(this.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
    this.server = createServer((req, res) => {
      void (async () => {
        const text = await readBody(req);
        const call: ReceivedCall = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
        const send = (status: number, body?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body === undefined ? '' : JSON.stringify(body));
        };
        const tokenPath = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(call.path);
        if (req.method === 'POST' && tokenPath) {
          this.tokenRequests.push(call);
          const jwt = /^bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
          try {
            const { payload } = await jwtVerify(jwt ?? '', spki, { algorithms: ['RS256'] });
            if (String(payload.iss) !== this.appId) return send(401, { message: 'wrong iss' });
          } catch {
            return send(401, { message: 'A JSON web token could not be decoded' });
          }
          const token = `ghs_installation_${tokenPath[1]}_${this.issued.size + 1}`;
          this.issued.add(token);
          return send(201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { deployments: 'write', actions: 'read' }, repository_selection: 'all' });
        }
        if (req.method === 'POST' && /\/actions\/runs\/\d+\/deployment_protection_rule$/.test(call.path)) {
          const token = /^token (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
          if (!token || !this.issued.has(token)) return send(401, { message: 'Bad credentials' });
          if (this.failNextCallbacks > 0) {
            this.failNextCallbacks -= 1;
            return send(502, { message: 'Server Error' });
          }
          this.callbacks.push(call);
          return send(204);
        }
        send(404, { message: 'Not Found' });
      })();
    });
    this.url = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** GitLab's deployment approval endpoint, accepting only the configured access token. */
export class FakeGitLab {
  readonly token = 'glpat-test-token';
  readonly approvals: ReceivedCall[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void (async () => {
        const text = await readBody(req);
        const call: ReceivedCall = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method === 'POST' && /^\/api\/v4\/projects\/\d+\/deployments\/\d+\/approval$/.test(call.path)) {
          if (req.headers['private-token'] !== this.token) return send(401, { message: '401 Unauthorized' });
          this.approvals.push(call);
          return send(201, { user: { username: 'agf-bot' }, status: call.body['status'], comment: call.body['comment'] });
        }
        send(404, { message: '404 Not Found' });
      })();
    });
    this.url = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
