import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatSeconds } from '../api';
import { usePolled, useTitle } from '../insights';

interface CoeView {
  experts: Array<{
    expertId: string;
    expertType: string;
    kind: string;
    capacity: number | null;
    load: number;
    available: boolean;
    active: boolean;
    overdue: number;
    answered: number;
    answerSeconds: { p50: number | null; p90: number | null };
  }>;
}

export function CoeDashboard() {
  useTitle('CoE dashboard');
  const { data, error } = usePolled<CoeView>('/console-api/coe', 5000);
  const humans = data?.experts.filter((e) => e.kind === 'human') ?? [];
  return (
    <>
      <h1>CoE dashboard</h1>
      {error && <p role="alert" className="error">{error}</p>}
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && (
        <>
          <section aria-labelledby="load" className="chart">
            <h2 id="load">Human experts' load against capacity</h2>
            <div role="img" aria-label={`Load against capacity: ${humans.map((e) => `${e.expertId} ${e.load} of ${e.capacity ?? '?'}`).join(', ')}`}>
              <ResponsiveContainer width="100%" height={280}>
                <BarChart data={humans} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="expertId" tick={{ fontSize: 10 }} interval={0} angle={-20} textAnchor="end" height={60} />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey="load" name="Open reviews" fill="#1f5fa8" isAnimationActive={false} />
                  <Bar dataKey="capacity" name="Capacity" fill="#9bb7d4" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </section>
          <section aria-labelledby="experts">
            <h2 id="experts">Every expert</h2>
            <div className="table-scroll" role="region" aria-label="Experts table" tabIndex={0}>
              <table data-testid="experts">
                <thead>
                  <tr>
                    <th scope="col">Expert</th>
                    <th scope="col">Type</th>
                    <th scope="col">Load / capacity</th>
                    <th scope="col">Overdue</th>
                    <th scope="col">Answered (30 d)</th>
                    <th scope="col">Answer time p50 / p90</th>
                  </tr>
                </thead>
                <tbody>
                  {data.experts.map((e) => (
                    <tr key={e.expertId} className={e.overdue > 0 ? 'overdue' : undefined}>
                      <th scope="row">
                        {e.expertId} <span className="hint">({e.kind}{e.available ? '' : ', away'}{e.active ? '' : ', inactive'})</span>
                      </th>
                      <td>{e.expertType}</td>
                      <td>
                        {e.load} / {e.capacity ?? '–'}
                      </td>
                      <td>{e.overdue > 0 ? <span className="badge danger">{e.overdue} overdue</span> : 0}</td>
                      <td>{e.answered}</td>
                      <td>
                        {formatSeconds(e.answerSeconds.p50)} / {formatSeconds(e.answerSeconds.p90)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </>
  );
}
