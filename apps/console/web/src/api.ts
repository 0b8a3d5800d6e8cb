/** The console API (the backend-for-frontend): JSON over fetch with the session cookie and the CSRF token. */

export interface Caller {
  subject: string;
  roles: string[];
  projects: string[];
  experts: string[];
}

export interface SessionState {
  signedIn: boolean;
  oidc: boolean;
  method?: 'api-key' | 'oidc';
  caller?: Caller;
  csrfToken?: string;
  expiresAt?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
export function useCsrfToken(token: string | undefined): void {
  csrfToken = token ?? '';
}

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(method !== 'GET' ? { 'x-csrf-token': csrfToken } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const problem = json as { detail?: string; title?: string } | undefined;
    throw new ApiError(response.status, problem?.detail ?? problem?.title ?? `HTTP ${response.status}`);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => send<T>('GET', path),
  post: <T>(path: string, body: unknown) => send<T>('POST', path, body),
  delete: (path: string) => send<void>('DELETE', path),
};

export interface InboxItem {
  assignmentId: string;
  requestId: string;
  projectId: string;
  componentName: string;
  version: string;
  requester: string;
  changes: string[];
  changeCount: number;
  risk: { overallScore: number; riskFactors: string[] } | null;
  tierLevel: number;
  triggers: Array<{ condition: string; reason: string }>;
  asked: { expertId: string; expertType: string; role: string; scope: string[] };
  purpose: string;
  escalation: { level: number; reason: string; detail: string } | null;
  status: string;
  requestStatus: string;
  assignedAt: string;
  slaDueAt: string;
  timeLeftSeconds: number | null;
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${Math.round(abs)} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86_400 ? `${(abs / 3600).toFixed(1)} h` : `${(abs / 86_400).toFixed(1)} d`;
  return seconds < 0 ? `-${text}` : text;
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '–';
}
