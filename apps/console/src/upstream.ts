import { Inject, Injectable } from '@nestjs/common';
import { ProblemError } from '@agf/platform';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';

export type UpstreamService = keyof ConsoleConfig['services'];

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** How long the console waits for a service before telling the browser it is unavailable. */
const UPSTREAM_TIMEOUT_MS = 10_000;

/**
 * Calls AGF's services with the signed-in person's own credential, so each service authorizes the call exactly
 * as it would the same person's call from the CLI; the console adds no permission of its own.
 */
@Injectable()
export class Upstream {
  constructor(@Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig) {}

  url(service: UpstreamService, path: string): string {
    return `${this.config.services[service]}${path}`;
  }

  async call(service: UpstreamService, path: string, authorization: string | undefined, init: { method?: string; body?: unknown } = {}): Promise<UpstreamAnswer> {
    let response: Response;
    try {
      response = await fetch(this.url(service, path), {
        method: init.method ?? 'GET',
        headers: {
          accept: 'application/json',
          ...(authorization ? { authorization } : {}),
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ProblemError(502, 'upstream-unavailable', 'Bad Gateway', `${service} did not answer (${(error as Error).message})`);
    }
    return { status: response.status, contentType: response.headers.get('content-type') ?? 'application/json', body: await response.text() };
  }

  /** The answer's JSON when it succeeded; otherwise the service's own problem, passed on as it was. */
  async json<T>(service: UpstreamService, path: string, authorization: string): Promise<T> {
    const answer = await this.call(service, path, authorization);
    if (answer.status >= 200 && answer.status < 300) return JSON.parse(answer.body) as T;
    throw upstreamProblem(service, answer);
  }
}

/** A service's refusal, as the browser should see it (its status and detail). */
export function upstreamProblem(service: string, answer: UpstreamAnswer): ProblemError {
  let detail = `${service} answered ${answer.status}`;
  let code = 'upstream-refused';
  let title = 'Upstream refused';
  try {
    const problem = JSON.parse(answer.body) as { detail?: string; title?: string; type?: string };
    if (problem.detail) detail = problem.detail;
    if (problem.title) title = problem.title;
    if (problem.type) code = problem.type.split('/').pop() ?? code;
  } catch {
    // not JSON: keep the generic detail
  }
  return new ProblemError(answer.status >= 400 && answer.status < 600 ? answer.status : 502, code, title, detail);
}
