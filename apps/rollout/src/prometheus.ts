import { fillQuery, type Reading } from '@agf/rollout-domain';
import type { SignalQueries } from '@agf/policy';

/**
 * Runs a project's PromQL queries (instant queries, `GET /api/v1/query`). A query that fails or returns no sample
 * gives no reading: the evaluation then counts that signal as missing (inconclusive), never as healthy.
 */
export async function pullSignals(
  baseUrl: string,
  queries: SignalQueries,
  values: { project: string; component: string; version: string; request: string },
  timeoutMs: number,
  onError: (signal: string, message: string) => void,
): Promise<Reading[]> {
  const readings = await Promise.all(
    Object.entries(queries).map(async ([name, template]): Promise<Reading | undefined> => {
      const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
      url.searchParams.set('query', fillQuery(template, values));
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        const body = (await response.json()) as PrometheusAnswer;
        if (!response.ok || body.status !== 'success') throw new Error(`HTTP ${response.status}: ${body.error ?? body.status}`);
        const sample = sampleOf(body.data);
        if (!sample) return undefined;
        const [time, value] = sample;
        const number = Number(value);
        if (!Number.isFinite(number)) return undefined;
        return { name, value: number, unit: null, at: new Date(time * 1000).toISOString(), source: 'prometheus' };
      } catch (error) {
        onError(name, (error as Error).message);
        return undefined;
      }
    }),
  );
  return readings.filter((r): r is Reading => r !== undefined);
}

interface PrometheusAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: 'vector' | 'scalar' | 'matrix' | 'string'; result: unknown };
}

/** The first sample of a vector, or a scalar: `[unix seconds, "value"]`. */
function sampleOf(data: PrometheusAnswer['data']): [number, string] | undefined {
  if (!data) return undefined;
  if (data.resultType === 'scalar') return data.result as [number, string];
  if (data.resultType === 'vector') return (data.result as Array<{ value: [number, string] }>)[0]?.value;
  return undefined;
}
