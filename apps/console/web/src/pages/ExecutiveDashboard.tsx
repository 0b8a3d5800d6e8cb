import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatSeconds } from '../api';
import { type Figures, type Insights, usePolled, useTitle } from '../insights';

const PERIODS = { '1': 'Last 24 hours', '7': 'Last 7 days', '30': 'Last 30 days', '90': 'Last 90 days' } as const;
const percent = (value: number | null) => (value === null ? '–' : `${value.toFixed(1)} %`);

function Tiles({ figures }: { figures: Figures }) {
  return (
    <dl className="tiles">
      <div>
        <dt>Decisions</dt>
        <dd data-testid="tile-decisions">{figures.decisions}</dd>
      </div>
      <div>
        <dt>Lead time p50</dt>
        <dd>{formatSeconds(figures.leadTimeSeconds.p50)}</dd>
      </div>
      <div>
        <dt>Lead time p90</dt>
        <dd>{formatSeconds(figures.leadTimeSeconds.p90)}</dd>
      </div>
      <div>
        <dt>SLA compliance</dt>
        <dd>{percent(figures.slaCompliancePercent)}</dd>
      </div>
      <div>
        <dt>Change failure rate</dt>
        <dd>{percent(figures.changeFailureRatePercent)}</dd>
      </div>
      <div>
        <dt>Deployments per day</dt>
        <dd>{figures.deploymentsPerDay.toFixed(2)}</dd>
      </div>
    </dl>
  );
}

export function ExecutiveDashboard() {
  useTitle('Executive dashboard');
  const [days, setDays] = useState<keyof typeof PERIODS>('30');
  const [project, setProject] = useState('');
  // The period ends at the next full minute, so that polling asks the same question until it changes.
  const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
  const from = new Date(to.getTime() - Number(days) * 86_400_000);
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), ...(project ? { projectId: project } : {}) });
  const { data, error } = usePolled<Insights>(`/console-api/insights?${query.toString()}`, 5000);
  const outcomes = data ? Object.entries(data.overall.decisionsByOutcome).map(([outcome, count]) => ({ outcome, count })) : [];

  return (
    <>
      <h1>Executive dashboard</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Period{' '}
          <select value={days} onChange={(e) => setDays(e.target.value as keyof typeof PERIODS)}>
            {Object.entries(PERIODS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Project{' '}
          <select value={project} onChange={(e) => setProject(e.target.value)}>
            <option value="">All projects</option>
            {(data?.projects ?? []).map((p) => (
              <option key={p.projectId} value={p.projectId}>
                {p.projectId}
              </option>
            ))}
            {project && !data?.projects.some((p) => p.projectId === project) && <option value={project}>{project}</option>}
          </select>
        </label>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && (
        <>
          <section aria-labelledby="overall">
            <h2 id="overall">{project ? `Project ${project}` : 'All projects'}</h2>
            <Tiles figures={data.overall} />
          </section>
          <section aria-labelledby="outcomes" className="chart">
            <h2 id="outcomes">Decisions by outcome</h2>
            <div role="img" aria-label={`Decisions by outcome: ${outcomes.map((o) => `${o.outcome} ${o.count}`).join(', ') || 'none'}`} data-testid="outcome-chart">
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={outcomes} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="outcome" tick={{ fontSize: 11 }} interval={0} />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Bar dataKey="count" name="Decisions" fill="#1f5fa8" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </section>
          <section aria-labelledby="daily" className="chart">
            <h2 id="daily">Decisions per day</h2>
            <div role="img" aria-label={`Decisions per day: ${data.daily.map((d) => `${d.day} ${d.decisions}`).join(', ') || 'none'}`}>
              <ResponsiveContainer width="100%" height={220}>
                <BarChart data={data.daily} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="day" tick={{ fontSize: 11 }} />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey="decisions" name="Decisions" fill="#2e7d4f" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </section>
          {!project && (
            <section aria-labelledby="per-project">
              <h2 id="per-project">Per project</h2>
              <div className="table-scroll" role="region" aria-label="Per-project table" tabIndex={0}>
                <table data-testid="project-table">
                  <thead>
                    <tr>
                      <th scope="col">Project</th>
                      <th scope="col">Decisions</th>
                      <th scope="col">Lead time p50 / p90</th>
                      <th scope="col">SLA compliance</th>
                      <th scope="col">Change failure rate</th>
                      <th scope="col">Deployments/day</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.projects.map((p) => (
                      <tr key={p.projectId}>
                        <th scope="row">{p.projectId}</th>
                        <td>{p.decisions}</td>
                        <td>
                          {formatSeconds(p.leadTimeSeconds.p50)} / {formatSeconds(p.leadTimeSeconds.p90)}
                        </td>
                        <td>{percent(p.slaCompliancePercent)}</td>
                        <td>{percent(p.changeFailureRatePercent)}</td>
                        <td>{p.deploymentsPerDay.toFixed(2)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          )}
        </>
      )}
    </>
  );
}
