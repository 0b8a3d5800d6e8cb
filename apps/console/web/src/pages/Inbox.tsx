import { useEffect, useState } from 'react';
import { api, type Caller, formatSeconds, formatTime, type InboxItem } from '../api';
import { useEventSource } from '../live';
import { Link } from '../router';

/** Most urgent first: the least time left (overdue ones, negative, on top), then the earliest due. */
export function byUrgency(a: InboxItem, b: InboxItem): number {
  return (a.timeLeftSeconds ?? Infinity) - (b.timeLeftSeconds ?? Infinity) || a.slaDueAt.localeCompare(b.slaDueAt);
}

export function Inbox({ caller }: { caller: Caller }) {
  const reviewer = caller.roles.includes('reviewer');
  const [items, setItems] = useState<InboxItem[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!reviewer) return;
    api
      .get<{ items: InboxItem[] }>('/console-api/inbox')
      .then((page) => setItems(page.items))
      .catch((e: Error) => setError(e.message));
  }, [reviewer]);
  useEventSource(reviewer ? '/console-api/inbox/events' : undefined, {
    inbox: (data) => setItems((data as { items: InboxItem[] }).items),
    refused: (data) => setError(`the inbox refused your credential (${(data as { status: number }).status})`),
  });
  const sorted = [...(items ?? [])].sort(byUrgency);
  useEffect(() => {
    document.title = `${items ? `(${items.length}) ` : ''}Review inbox — AGF console`;
  }, [items]);

  return (
    <>
      <h1>Review inbox</h1>
      {!reviewer && <p>Your roles ({caller.roles.join(', ')}) include no reviewer role: nothing is assigned to you here.</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {reviewer && !items && !error && <p aria-busy="true">Loading your reviews…</p>}
      {reviewer && items && (
        <>
          <p aria-live="polite" data-testid="inbox-count">
            {items.length === 0 ? 'Nothing waits for you.' : `${items.length} review${items.length === 1 ? '' : 's'} waiting for you, most urgent first.`}
          </p>
          {sorted.length > 0 && (
            <div className="table-scroll" role="region" aria-label="Pending reviews table" tabIndex={0}>
              <table>
                <caption className="visually-hidden">Pending reviews by SLA urgency</caption>
                <thead>
                  <tr>
                    <th scope="col">Request</th>
                    <th scope="col">Asked of</th>
                    <th scope="col">Tier</th>
                    <th scope="col">Risk</th>
                    <th scope="col">Due</th>
                    <th scope="col">Time left</th>
                  </tr>
                </thead>
                <tbody>
                  {sorted.map((item) => {
                    const overdue = (item.timeLeftSeconds ?? 1) < 0;
                    return (
                      <tr key={item.assignmentId} className={overdue ? 'overdue' : undefined} data-testid="inbox-row">
                        <th scope="row">
                          <Link to={`/requests/${item.requestId}`}>
                            {item.projectId} / {item.componentName} {item.version}
                          </Link>
                          <div className="hint">
                            by {item.requester}
                            {item.purpose !== 'review' ? ` · ${item.purpose}` : ''}
                          </div>
                        </th>
                        <td>
                          {item.asked.expertId} ({item.asked.role})
                        </td>
                        <td>{item.tierLevel}</td>
                        <td>{item.risk ? item.risk.overallScore.toFixed(2) : '–'}</td>
                        <td>{formatTime(item.slaDueAt)}</td>
                        <td>
                          {overdue && <span className="badge danger">Overdue</span>} {formatSeconds(item.timeLeftSeconds)}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </>
  );
}
