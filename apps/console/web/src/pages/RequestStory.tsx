import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, type Caller, formatTime } from '../api';
import { useEventSource } from '../live';

/** The event types intake's `GET /v1/deployment-requests/{id}/events` names (its `event:` field). */
const STORY_EVENTS = [
  'deployment.requested',
  'risk.assessed',
  'review.classified',
  'review.assigned',
  'review.completed',
  'review.rejected',
  'review.cancelled',
  'sla.warning',
  'sla.breached',
  'compliance.evaluated',
  'decision.escalated',
  'deployment.break_glass',
  'decision.made',
  'deployment.outcome',
];

interface StoryEvent {
  seq: number;
  type: string;
  recordedAt: string;
  data: Record<string, unknown>;
}

type Json = Record<string, unknown>;
interface RequestView {
  id: string;
  projectId: string;
  componentName: string;
  version: string;
  requester: string;
  status: string;
  createdAt: string;
  request: { changes?: string[]; environment?: string };
  riskAssessment: (Json & { overallScore: number; riskFactors: string[]; mitigationSuggestions: string[]; analyzers: Record<string, Json> }) | null;
  triggers: Array<{ condition: string; reason: string }> | null;
  tierLevel: number | null;
  tierReasons: string[] | null;
  assignments: Array<{ id: string; expertId: string; expertKind: string; role: string; status: string; slaDueAt: string; slaWarnedAt: string | null; slaBreachedAt: string | null; purpose: string }>;
  reviews: Array<{ assignmentId: string; expertId: string; decision: string; comments: string; conditions: string[]; completedAt: string | null }>;
  decision: (Json & {
    outcome: string;
    approved: boolean;
    decisionRationale: string;
    decidedAt: string;
    conditions: string[];
    confidence: { score: number; level: string; calculationBasis: Record<string, number> };
    monitoringRequirements: unknown[];
    rollbackPlan: unknown;
  }) | null;
  escalation: { level: number; reason: string; detail: string; dueAt: string; assignees?: Array<{ expertId: string }> } | null;
}

interface AuditView {
  available: boolean;
  reason?: string;
  entries?: Array<{ sequence: number; eventType: string; recordedAt: string; entryHash: string; actor: { subject?: string } | null; outcome?: string }>;
  chain?: { valid: boolean | null; entries?: number; firstBrokenEntry?: { sequence: number; reason: string }; reason?: string };
}

function summary(event: StoryEvent): string {
  const d = event.data;
  switch (event.type) {
    case 'deployment.requested':
      return `Submitted by ${String((d['actor'] as Json | undefined)?.['subject'] ?? d['requester'] ?? 'someone')}`;
    case 'risk.assessed':
      return `Risk assessed: ${Number(d['overallScore']).toFixed(2)}`;
    case 'review.classified':
      return `Tier ${String(d['tierLevel'])}; triggers: ${((d['triggers'] as Array<{ condition: string }> | undefined) ?? []).map((t) => t.condition).join(', ') || 'none'}`;
    case 'review.assigned':
      return `Assigned to ${String(d['expertId'])} (${String(d['role'] ?? d['expertType'] ?? '')})`;
    case 'review.completed':
      return `${String(d['expertId'])} answered ${String(d['decision'])}${d['comments'] ? `: “${String(d['comments'])}”` : ''}`;
    case 'review.rejected':
      return `Answer of ${String(d['expertId'])} not taken: ${String(d['reason'])}`;
    case 'review.cancelled':
      return `Assignment of ${String(d['expertId'] ?? '')} cancelled (${String(d['reason'] ?? '')})`;
    case 'sla.warning':
      return `SLA warning for ${String(d['expertId'] ?? 'an assignment')}`;
    case 'sla.breached':
      return `SLA breached for ${String(d['expertId'] ?? 'an assignment')}`;
    case 'compliance.evaluated':
      return 'Compliance evaluated';
    case 'decision.escalated':
      return `Escalated to level ${String(d['level'])}: ${String(d['detail'] ?? d['reason'])}`;
    case 'deployment.break_glass':
      return `Break-glass approval asked: ${String(d['justification'])}`;
    case 'decision.made':
      return `Decision: ${String(d['outcome'])}`;
    case 'deployment.outcome':
      return `Outcome reported: ${String(d['status'])}`;
    default:
      return event.type;
  }
}

function Details({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <>–</>;
  if (typeof value !== 'object') return <>{String(value)}</>;
  if (Array.isArray(value)) {
    if (!value.length) return <>none</>;
    return (
      <ul>
        {value.map((item, i) => (
          <li key={i}>
            <Details value={item} />
          </li>
        ))}
      </ul>
    );
  }
  return (
    <dl className="details">
      {Object.entries(value as Json).map(([key, item]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>
            <Details value={item} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function RequestStory({ id, caller }: { id: string; caller: Caller }) {
  const [view, setView] = useState<RequestView | undefined>();
  const [events, setEvents] = useState<StoryEvent[]>([]);
  const [audit, setAudit] = useState<AuditView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [following, setFollowing] = useState(true);
  const reload = useRef<number | undefined>(undefined);

  const load = useCallback(() => {
    api
      .get<RequestView>(`/console-api/requests/${id}`)
      .then(setView)
      .catch((e: Error) => setError(e.message));
    api
      .get<AuditView>(`/console-api/requests/${id}/audit`)
      .then(setAudit)
      .catch(() => undefined);
  }, [id]);
  useEffect(() => {
    setEvents([]);
    setFollowing(true);
    load();
  }, [load]);
  useEffect(() => {
    document.title = `${view ? `${view.projectId} / ${view.componentName} ${view.version}` : 'Request'} — AGF console`;
  }, [view]);

  const onEvent = (data: unknown) => {
    const event = data as StoryEvent;
    setEvents((previous) => (previous.some((e) => e.seq === event.seq) ? previous : [...previous, event].sort((a, b) => a.seq - b.seq)));
    if (event.type === 'decision.made') setFollowing(false);
    // Many events come at once: read the view again once they settle.
    window.clearTimeout(reload.current);
    reload.current = window.setTimeout(load, 300);
  };
  useEventSource(following && !error ? `/console-api/requests/${id}/events` : undefined, Object.fromEntries(STORY_EVENTS.map((type) => [type, onEvent])));

  if (error) return <p role="alert" className="error">{error}</p>;
  if (!view) return <p aria-busy="true">Loading the request…</p>;

  const mine = view.assignments.filter((a) => caller.experts.includes(a.expertId) && (a.status === 'pending' || a.status === 'breached'));
  const ownRequest = view.requester === caller.subject;
  const decision = view.decision;

  return (
    <article>
      <h1>
        {view.projectId} / {view.componentName} {view.version}
      </h1>
      <p>
        Requested by <strong>{view.requester}</strong> on {formatTime(view.createdAt)} · status <strong data-testid="request-status">{view.status}</strong>
        {view.tierLevel !== null && <> · tier {view.tierLevel}</>}
      </p>

      <section aria-labelledby="decision-heading" className="card">
        <h2 id="decision-heading">Decision</h2>
        <div aria-live="polite" data-testid="decision">
          {decision ? (
            <>
              <p>
                <span className={`badge ${decision.approved ? 'ok' : 'danger'}`}>{decision.outcome}</span> on {formatTime(decision.decidedAt)}
              </p>
              <p>{decision.decisionRationale}</p>
              <h3>Confidence {decision.confidence.score.toFixed(2)} ({decision.confidence.level})</h3>
              <Details value={decision.confidence.calculationBasis} />
              <h3>Conditions</h3>
              <Details value={decision.conditions} />
              <h3>Monitoring requirements</h3>
              <Details value={decision.monitoringRequirements} />
              <h3>Rollback plan</h3>
              <Details value={decision.rollbackPlan} />
            </>
          ) : (
            <p>Not decided yet{view.escalation ? `: escalated to level ${view.escalation.level} (${view.escalation.detail}), due ${formatTime(view.escalation.dueAt)}` : ''}.</p>
          )}
        </div>
      </section>

      {!decision && ownRequest && <p className="hint" data-testid="own-request-note">This is your own request: its reviewers decide it, not you.</p>}
      {!decision && !ownRequest && mine.map((assignment) => <ReviewForm key={assignment.id} requestId={view.id} assignment={assignment} onSent={load} />)}

      <section aria-labelledby="story-heading">
        <h2 id="story-heading">Story</h2>
        {following && <p className="hint">Following live: new events appear here as they happen.</p>}
        {audit?.available &&
          audit.entries
            ?.filter((e) => e.outcome)
            .map((e) => (
              <p key={e.sequence} data-testid="outcome">
                Outcome reported on {formatTime(e.recordedAt)}: <strong>{e.outcome}</strong>
              </p>
            ))}
        <ol className="timeline" data-testid="timeline">
          <li data-type="deployment.requested">
            <time dateTime={view.createdAt}>{formatTime(view.createdAt)}</time> <span>Submitted by {view.requester}</span>
          </li>
          {events.map((event) => (
            <li key={event.seq} data-type={event.type}>
              <time dateTime={event.recordedAt}>{formatTime(event.recordedAt)}</time> <span>{summary(event)}</span>
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="risk-heading">
        <h2 id="risk-heading">Risk and why</h2>
        {view.riskAssessment ? (
          <>
            <p>Overall risk {view.riskAssessment.overallScore.toFixed(2)}</p>
            <h3>Risk factors</h3>
            <Details value={view.riskAssessment.riskFactors} />
            <h3>Mitigations suggested</h3>
            <Details value={view.riskAssessment.mitigationSuggestions} />
            <details>
              <summary>Each analyzer's explanation</summary>
              <Details value={view.riskAssessment.analyzers} />
            </details>
          </>
        ) : (
          <p>Not assessed yet.</p>
        )}
        <h3>Triggers</h3>
        <Details value={view.triggers?.map((t) => `${t.condition}: ${t.reason}`) ?? null} />
        <h3>Tier {view.tierLevel ?? '–'}, because</h3>
        <Details value={view.tierReasons} />
      </section>

      <section aria-labelledby="assignments-heading">
        <h2 id="assignments-heading">Assignments and reviews</h2>
        <div className="table-scroll" role="region" aria-label="Assignments table" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Expert</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Due</th>
                <th scope="col">Answer</th>
              </tr>
            </thead>
            <tbody>
              {view.assignments.map((a) => {
                const review = view.reviews.find((r) => r.assignmentId === a.id);
                return (
                  <tr key={a.id}>
                    <th scope="row">
                      {a.expertId} <span className="hint">({a.expertKind})</span>
                    </th>
                    <td>
                      {a.role}
                      {a.purpose !== 'review' ? ` · ${a.purpose}` : ''}
                    </td>
                    <td>
                      {a.status}
                      {a.slaBreachedAt ? ' · SLA breached' : a.slaWarnedAt ? ' · SLA warning' : ''}
                    </td>
                    <td>{formatTime(a.slaDueAt)}</td>
                    <td>{review ? `${review.decision}${review.comments ? `: ${review.comments}` : ''}${review.conditions.length ? ` (conditions: ${review.conditions.join('; ')})` : ''}` : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit trail</h2>
        {!audit && <p aria-busy="true">Loading…</p>}
        {audit && !audit.available && <p>Not shown: {audit.reason} (the audit trail is for auditors).</p>}
        {audit?.available && (
          <>
            <p data-testid="chain-status">
              Hash chain:{' '}
              {audit.chain?.valid === true ? (
                <span className="badge ok">verified ({audit.chain.entries} entries)</span>
              ) : audit.chain?.valid === false ? (
                <span className="badge danger">broken at entry {audit.chain.firstBrokenEntry?.sequence}: {audit.chain.firstBrokenEntry?.reason}</span>
              ) : (
                <span className="badge">not verified ({audit.chain?.reason})</span>
              )}
            </p>
            <ol className="timeline">
              {audit.entries?.map((entry) => (
                <li key={entry.sequence}>
                  #{entry.sequence} <time dateTime={entry.recordedAt}>{formatTime(entry.recordedAt)}</time> {entry.eventType}
                  {entry.actor?.subject ? ` by ${entry.actor.subject}` : ''} <code className="hash">{entry.entryHash.slice(0, 12)}</code>
                </li>
              ))}
            </ol>
          </>
        )}
      </section>
    </article>
  );
}

function ReviewForm({ requestId, assignment, onSent }: { requestId: string; assignment: RequestView['assignments'][number]; onSent: () => void }) {
  const [decision, setDecision] = useState<'approve' | 'conditional' | 'reject'>('approve');
  const [comments, setComments] = useState('');
  const [conditions, setConditions] = useState('');
  const [status, setStatus] = useState<{ kind: 'error' | 'sent'; text: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const body = {
      assignmentId: assignment.id,
      expertId: assignment.expertId,
      decision,
      comments,
      ...(decision === 'conditional' ? { conditions: conditions.split('\n').map((c) => c.trim()).filter(Boolean) } : {}),
    };
    api
      .post(`/console-api/requests/${requestId}/reviews`, body)
      .then(() => {
        setStatus({ kind: 'sent', text: 'Your answer was sent; the decision appears here when it is made.' });
        onSent();
      })
      .catch((e: Error) => setStatus({ kind: 'error', text: e.message }))
      .finally(() => setBusy(false));
  };
  const legend = `Your review as ${assignment.expertId} (${assignment.role})`;
  return (
    <section className="card" aria-label={legend}>
      <form onSubmit={submit}>
        <fieldset disabled={busy || status?.kind === 'sent'}>
          <legend>{legend}</legend>
          <div className="choices" role="radiogroup" aria-label="Decision">
            {(
              [
                ['approve', 'Approve'],
                ['conditional', 'Approve with conditions'],
                ['reject', 'Reject'],
              ] as const
            ).map(([value, label]) => (
              <label key={value}>
                <input type="radio" name={`decision-${assignment.id}`} value={value} checked={decision === value} onChange={() => setDecision(value)} /> {label}
              </label>
            ))}
          </div>
          <label htmlFor={`comments-${assignment.id}`}>Comment</label>
          <textarea id={`comments-${assignment.id}`} required maxLength={4000} rows={3} value={comments} onChange={(e) => setComments(e.target.value)} />
          {decision === 'conditional' && (
            <>
              <label htmlFor={`conditions-${assignment.id}`}>Conditions (one per line)</label>
              <textarea id={`conditions-${assignment.id}`} required rows={3} value={conditions} onChange={(e) => setConditions(e.target.value)} />
            </>
          )}
          <button type="submit">{decision === 'reject' ? 'Send rejection' : decision === 'conditional' ? 'Approve with conditions' : 'Approve'}</button>
        </fieldset>
        {status && (
          <p role={status.kind === 'error' ? 'alert' : 'status'} className={status.kind === 'error' ? 'error' : 'ok'}>
            {status.text}
          </p>
        )}
      </form>
    </section>
  );
}
