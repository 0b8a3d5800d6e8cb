import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  status: number;
  json: Record<string, unknown>;
}

/**
 * One local HTTP server standing in for every HTTP receiver (webhook, Slack, PagerDuty, SMS gateway). A path can be
 * told to fail its next N requests (HTTP 500), or always.
 */
export class HttpReceivers {
  readonly received: Received[] = [];
  private readonly failNext = new Map<string, number>();
  private readonly server: Server;
  port = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0]!;
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const remaining = this.failNext.get(path) ?? 0;
        const status = path.startsWith('/always-500') ? 500 : remaining > 0 ? 500 : path === '/pagerduty' ? 202 : 200;
        if (remaining > 0) this.failNext.set(path, remaining - 1);
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(rawBody) as Record<string, unknown>;
        } catch {
          // recorded as is
        }
        this.received.push({ path, headers: req.headers, rawBody, status, json });
        res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"ok":true}' : '{"error":"down"}');
      });
    });
  }

  static async start(): Promise<HttpReceivers> {
    const receivers = new HttpReceivers();
    await new Promise<void>((resolve) => receivers.server.listen(0, '127.0.0.1', resolve));
    receivers.port = (receivers.server.address() as AddressInfo).port;
    return receivers;
  }

  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  failTimes(path: string, times: number): void {
    this.failNext.set(path, times);
  }

  /** What reached `path` about one request (by `requestId` anywhere in the body). */
  at(path: string, requestId: string): Received[] {
    return this.received.filter((r) => r.path === path && r.rawBody.includes(requestId));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** The body with quoted-printable soft line breaks undone. */
  text: string;
}

/** A real SMTP server (the `smtp-server` package), without authentication or TLS, recording what it is sent. */
export class SmtpReceiver {
  readonly mails: Mail[] = [];
  private readonly server: SMTPServer;
  port = 0;

  private constructor() {
    const mails = this.mails;
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const [head = '', ...body] = raw.split(/\r?\n\r?\n/);
          const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject,
            text: body.join('\n\n').replace(/=\r?\n/g, '').replace(/=3D/g, '='),
          });
          callback();
        });
      },
    });
  }

  static async start(): Promise<SmtpReceiver> {
    const receiver = new SmtpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.server.address() as AddressInfo).port;
    return receiver;
  }

  to(address: string, requestId: string): Mail[] {
    return this.mails.filter((m) => m.to.includes(address) && m.text.includes(requestId));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
