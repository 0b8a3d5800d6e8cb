import { formatTime } from '../api';
import { type Insights, usePolled, useTitle } from '../insights';
import { Link } from '../router';

export function Escalations() {
  const { data, error } = usePolled<Insights>('/console-api/insights', 5000);
  useTitle(`${data ? `(${data.escalations.length}) ` : ''}Escalations`);
  return (
    <>
      <h1>Escalations</h1>
      <p>Requests waiting on oversight after an escalation, the earliest due first.</p>
      {error && <p role="alert" className="error">{error}</p>}
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && data.escalations.length === 0 && <p>No request waits on an escalation.</p>}
      {data && data.escalations.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Escalations table" tabIndex={0}>
          <table data-testid="escalations">
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Level</th>
                <th scope="col">Why</th>
                <th scope="col">Escalated</th>
                <th scope="col">Due</th>
              </tr>
            </thead>
            <tbody>
              {data.escalations.map((e) => {
                const overdue = e.dueAt !== null && Date.parse(e.dueAt) < Date.now();
                return (
                  <tr key={e.requestId} className={overdue ? 'overdue' : undefined}>
                    <th scope="row">
                      <Link to={`/requests/${e.requestId}`}>
                        {e.projectId} / {e.componentName}
                      </Link>
                      <div className="hint">by {e.requester}</div>
                    </th>
                    <td>{e.level}</td>
                    <td>
                      {e.reason}: {e.detail}
                    </td>
                    <td>{formatTime(e.escalatedAt)}</td>
                    <td>
                      {overdue && <span className="badge danger">Overdue</span>} {formatTime(e.dueAt)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
