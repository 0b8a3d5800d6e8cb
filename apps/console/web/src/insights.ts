import { useEffect, useState } from 'react';
import { api } from './api';

export interface Figures {
  decisionsByOutcome: Record<string, number>;
  decisions: number;
  leadTimeSeconds: { p50: number | null; p90: number | null };
  slaCompliancePercent: number | null;
  changeFailureRatePercent: number | null;
  deploymentsPerDay: number;
}

export interface Insights {
  from: string;
  to: string;
  overall: Figures;
  projects: Array<Figures & { projectId: string }>;
  daily: Array<{ day: string; decisions: number }>;
  escalations: Array<{ requestId: string; projectId: string; componentName: string; requester: string; level: number; reason: string; detail: string; dueAt: string | null; escalatedAt: string | null }>;
  experts: Array<{ expertId: string; expertKind: string; open: number; overdue: number; answered: number; answerSeconds: { p50: number | null; p90: number | null } }>;
}

/** Reads a console API path now and every `everyMs` (the dashboards follow the system while shown). */
export function usePolled<T>(path: string, everyMs: number): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    let stopped = false;
    const read = () =>
      api
        .get<T>(path)
        .then((data) => !stopped && setState({ data }))
        .catch((e: Error) => !stopped && setState((previous) => ({ ...previous, error: e.message })));
    void read();
    const timer = window.setInterval(read, everyMs);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [path, everyMs]);
  return state;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} — AGF console`;
  }, [title]);
}
