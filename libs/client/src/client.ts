import {
  type ApiKeyInput,
  type ApiKeyView,
  type AttestationEnvelope,
  type AttestationKeyList,
  type DecisionMade,
  type DeploymentRequestInput,
  type DeploymentRequestView,
  type OutcomeReportInput,
  type PendingDecision,
  type ProjectGateMode,
  type ProjectModeView,
  type RequestStoryEvent,
  type ReviewSubmissionInput,
  type SubmissionAccepted,
} from '@agf/contracts';
import type { z } from 'zod';
import { parseEventStream } from './sse';

/**
 * Why a call failed, in the terms a pipeline acts on: `unreachable` (no answer from AGF), `auth` (401/403),
 * `usage` (AGF refused the input: 4xx), `server` (5xx after retries).
 */
export type AgfErrorKind = 'unreachable' | 'auth' | 'usage' | 'not-found' | 'server';

export class AgfError extends Error {
  constructor(
    readonly kind: AgfErrorKind,
    message: string,
    readonly status?: number,
    readonly problem?: { title?: string; detail?: string; errors?: Array<{ path: string; message: string }> },
  ) {
    super(message);
  }
}

export interface AgfClientOptions {
  /** Intake's base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  token?: string;
  /** Compliance's base URL (audit verify); default: intake's host on port 3005. */
  complianceUrl?: string;
  /** CoE's base URL (project modes); default: intake's host on port 3002. */
  coeUrl?: string;
}

export interface StoryEvent extends RequestStoryEvent {
  /** The SSE event id: resume after it with `lastEventId`. */
  id: string;
}

export interface FollowOptions {
  lastEventId?: string;
  signal?: AbortSignal;
  /** Called before each reconnection, with the attempt number and the reason. */
  onReconnect?: (attempt: number, reason: string, delayMs: number) => void;
  /** Longest pause between reconnections. */
  maxBackoffMs?: number;
  /** Stop when no connection succeeded for this long (the caller's own timeout usually comes first). */
  giveUpAfterMs?: number;
}

/** A typed client of AGF's HTTP API (intake, and compliance's audit verification). */
export class AgfClient {
  readonly url: string;
  readonly complianceUrl: string;
  readonly coeUrl: string;
  private readonly token: string | undefined;

  constructor(options: AgfClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.complianceUrl = (options.complianceUrl ?? sameHostOnPort(this.url, 3005)).replace(/\/+$/, '');
    this.coeUrl = (options.coeUrl ?? sameHostOnPort(this.url, 3002)).replace(/\/+$/, '');
  }

  submit(input: DeploymentRequestInput, options: { idempotencyKey?: string } = {}): Promise<z.infer<typeof SubmissionAccepted>> {
    return this.call('POST', '/v1/deployment-requests', input, options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {});
  }

  get(id: string): Promise<DeploymentRequestView> {
    return this.call('GET', `/v1/deployment-requests/${encodeURIComponent(id)}`);
  }

  /** The decision, or the pending state after waiting up to `waitSeconds` (long-poll). */
  decision(id: string, waitSeconds = 0): Promise<DecisionMade | z.infer<typeof PendingDecision>> {
    return this.call('GET', `/v1/deployment-requests/${encodeURIComponent(id)}/decision?waitSeconds=${waitSeconds}`);
  }

  /** My review inbox (`GET /v1/reviews?assignee=me`); undefined when this AGF does not have one yet (404). */
  async inbox(): Promise<unknown[] | undefined> {
    try {
      const body = await this.call<{ items?: unknown[] } | unknown[]>('GET', '/v1/reviews?assignee=me');
      return Array.isArray(body) ? body : (body.items ?? []);
    } catch (error) {
      if (error instanceof AgfError && error.status === 404) return undefined;
      throw error;
    }
  }

  review(id: string, input: ReviewSubmissionInput): Promise<unknown> {
    return this.call('POST', `/v1/deployment-requests/${encodeURIComponent(id)}/reviews`, input);
  }

  outcome(id: string, input: OutcomeReportInput): Promise<unknown> {
    return this.call('POST', `/v1/deployment-requests/${encodeURIComponent(id)}/outcome`, input);
  }

  createApiKey(input: ApiKeyInput): Promise<{ id: string; key: string }> {
    return this.call('POST', '/v1/api-keys', input);
  }

  listApiKeys(): Promise<ApiKeyView[]> {
    return this.call('GET', '/v1/api-keys');
  }

  revokeApiKey(id: string): Promise<void> {
    return this.call('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
  }

  attestation(id: string): Promise<AttestationEnvelope> {
    return this.call('GET', `/v1/deployment-requests/${encodeURIComponent(id)}/attestation`);
  }

  attestationKeys(): Promise<AttestationKeyList> {
    return this.call('GET', '/v1/attestation-keys');
  }

  projectMode(projectId: string): Promise<ProjectModeView> {
    return this.call('GET', `/v1/projects/${encodeURIComponent(projectId)}/mode`, undefined, {}, this.coeUrl);
  }

  setProjectMode(projectId: string, mode: ProjectGateMode): Promise<ProjectModeView> {
    return this.call('PUT', `/v1/projects/${encodeURIComponent(projectId)}/mode`, { mode }, {}, this.coeUrl);
  }

  auditVerify(): Promise<{ valid: boolean; entries: number; firstBrokenEntry?: unknown }> {
    return this.call('GET', '/v1/audit/verify', undefined, {}, this.complianceUrl);
  }

  /**
   * The request's story as it happens (`GET …/events`), from after `lastEventId`. A dropped connection or a
   * restarting AGF is reconnected with exponential backoff, resuming after the last event seen; the stream ends
   * after `decision.made`. Authentication and not-found errors end it at once.
   */
  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<StoryEvent> {
    let lastEventId = options.lastEventId;
    let attempt = 0;
    let failingSince: number | undefined;
    while (!options.signal?.aborted) {
      let reason: string;
      try {
        const response = await fetch(`${this.url}/v1/deployment-requests/${encodeURIComponent(id)}/events`, {
          headers: { ...this.authHeaders(), accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
          signal: options.signal,
        });
        if (!response.ok || !response.body) {
          const error = await toError(response);
          if (error.kind !== 'server') throw error;
          reason = error.message;
        } else {
          attempt = 0;
          failingSince = undefined;
          for await (const message of parseEventStream(response.body)) {
            const event = { ...(JSON.parse(message.data) as RequestStoryEvent), id: message.id ?? lastEventId ?? '' };
            if (message.id) lastEventId = message.id;
            yield event;
            if (event.type === 'decision.made') return;
          }
          reason = 'stream closed';
        }
      } catch (error) {
        if (error instanceof AgfError) throw error;
        if (options.signal?.aborted) return;
        reason = (error as Error).message;
      }
      failingSince ??= Date.now();
      if (options.giveUpAfterMs !== undefined && Date.now() - failingSince > options.giveUpAfterMs) {
        throw new AgfError('unreachable', `AGF unreachable at ${this.url} for ${Math.round((Date.now() - failingSince) / 1000)} s: ${reason}`);
      }
      attempt += 1;
      const delay = Math.min(options.maxBackoffMs ?? 15_000, 250 * 2 ** Math.min(attempt - 1, 10)) * (0.75 + Math.random() / 2);
      options.onReconnect?.(attempt, reason, Math.round(delay));
      await sleep(delay, options.signal);
    }
  }

  private authHeaders(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /**
   * An evidence package from compliance (`GET /v1/compliance/reports`, auditor): the zip, and the headers that
   * summarise it (changes, control counts, chain state, the sample's seed).
   */
  async complianceReport(query: Record<string, string | undefined>): Promise<{ zip: Buffer; headers: Record<string, string> }> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    let response: Response;
    try {
      response = await fetch(`${this.complianceUrl}/v1/compliance/reports?${params.toString()}`, { headers: this.authHeaders() });
    } catch (error) {
      throw new AgfError('unreachable', `AGF compliance unreachable at ${this.complianceUrl}: ${describeFetchError(error)}`);
    }
    if (!response.ok) throw await toError(response);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      if (key.startsWith('x-agf-')) headers[key] = value;
    });
    return { zip: Buffer.from(await response.arrayBuffer()), headers };
  }

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = this.url): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { ...this.authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new AgfError('unreachable', `AGF unreachable at ${base}: ${describeFetchError(error)}`);
    }
    if (!response.ok) throw await toError(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
}

async function toError(response: Response): Promise<AgfError> {
  const text = await response.text().catch(() => '');
  let problem: AgfError['problem'];
  try {
    problem = JSON.parse(text) as AgfError['problem'];
  } catch {
    problem = { detail: text.slice(0, 300) };
  }
  const detail = [problem?.title, problem?.detail, ...(problem?.errors ?? []).map((e) => `${e.path}: ${e.message}`)].filter(Boolean).join('; ');
  const status = response.status;
  const kind: AgfErrorKind = status === 401 || status === 403 ? 'auth' : status === 404 ? 'not-found' : status >= 500 || status === 429 ? 'server' : 'usage';
  return new AgfError(kind, `${status} ${detail || response.statusText}`, status, problem);
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** Where another service listens when only intake's URL is given: the same host, on the service's own port. */
function sameHostOnPort(intakeUrl: string, port: number): string {
  try {
    const url = new URL(intakeUrl);
    url.port = String(port);
    return url.origin;
  } catch {
    return intakeUrl;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
