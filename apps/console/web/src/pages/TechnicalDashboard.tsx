import { useEffect, useState } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { usePolled, useTitle } from '../insights';

interface Technical {
  at: string;
  decisionsTotal: number | null;
  decisionsPerSecond: number | null;
  services: Array<{ service: string; ready: boolean | null; metricsError?: string; decisionsTotal?: number; deadLettered?: number; outboxUnsent?: number }>;
  jetstream: { error: string } | { consumers: Array<{ stream: string; consumer: string; pending: number; ackPending: number }>; deadLetters: number };
}

export function TechnicalDashboard() {
  useTitle('Technical dashboard');
  const { data, error } = usePolled<Technical>('/console-api/technical', 3000);
  const [rates, setRates] = useState<Array<{ time: string; rate: number }>>([]);
  useEffect(() => {
    if (data?.decisionsPerSecond === null || data?.decisionsPerSecond === undefined) return;
    const point = { time: new Date(data.at).toLocaleTimeString(), rate: data.decisionsPerSecond };
    setRates((previous) => [...previous.slice(-59), point]);
  }, [data]);
  const jetstream = data?.jetstream;
  const lagging = jetstream && 'consumers' in jetstream ? [...jetstream.consumers].sort((a, b) => b.pending + b.ackPending - (a.pending + a.ackPending)) : [];
  const deadLettered = data?.services.reduce((sum, s) => sum + (s.deadLettered ?? 0), 0) ?? 0;

  return (
    <>
      <h1>Technical dashboard</h1>
      {error && <p role="alert" className="error">{error}</p>}
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && (
        <>
          <dl className="tiles">
            <div>
              <dt>Decisions per second</dt>
              <dd data-testid="decisions-per-second">{data.decisionsPerSecond === null ? 'measuring…' : data.decisionsPerSecond.toFixed(3)}</dd>
            </div>
            <div>
              <dt>Decisions since start</dt>
              <dd data-testid="decisions-total">{data.decisionsTotal ?? '–'}</dd>
            </div>
            <div>
              <dt>Dead-lettered messages</dt>
              <dd>
                {deadLettered}
                {jetstream && 'deadLetters' in jetstream ? ` (${jetstream.deadLetters} in AGF_DLQ)` : ''}
              </dd>
            </div>
          </dl>
          <section aria-labelledby="rate" className="chart">
            <h2 id="rate">Decisions per second, while this page is open</h2>
            <div role="img" aria-label={`Decisions per second; latest ${data.decisionsPerSecond ?? 'not measured yet'}`}>
              <ResponsiveContainer width="100%" height={200}>
                <LineChart data={rates} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="time" tick={{ fontSize: 11 }} />
                  <YAxis />
                  <Tooltip />
                  <Line type="monotone" dataKey="rate" name="decisions/s" stroke="#1f5fa8" isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          </section>
          <section aria-labelledby="health">
            <h2 id="health">Services</h2>
            <div className="table-scroll" role="region" aria-label="Services table" tabIndex={0}>
              <table data-testid="service-health">
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Health</th>
                    <th scope="col">Dead-lettered</th>
                    <th scope="col">Outbox backlog</th>
                  </tr>
                </thead>
                <tbody>
                  {data.services.map((s) => (
                    <tr key={s.service}>
                      <th scope="row">{s.service}</th>
                      <td>{s.ready ? <span className="badge ok">ready</span> : s.ready === false ? <span className="badge danger">not ready</span> : <span className="badge danger">not reachable</span>}</td>
                      <td>{s.metricsError ?? s.deadLettered}</td>
                      <td>{s.metricsError ?? s.outboxUnsent}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section aria-labelledby="lag">
            <h2 id="lag">Consumer lag</h2>
            {jetstream && 'error' in jetstream && <p>{jetstream.error}</p>}
            {lagging.length > 0 && (
              <div className="table-scroll" role="region" aria-label="Consumer lag table" tabIndex={0}>
                <table data-testid="consumer-lag">
                  <thead>
                    <tr>
                      <th scope="col">Consumer</th>
                      <th scope="col">Stream</th>
                      <th scope="col">Waiting</th>
                      <th scope="col">Being handled</th>
                    </tr>
                  </thead>
                  <tbody>
                    {lagging.map((c) => (
                      <tr key={`${c.stream}/${c.consumer}`}>
                        <th scope="row">{c.consumer}</th>
                        <td>{c.stream}</td>
                        <td>{c.pending}</td>
                        <td>{c.ackPending}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </>
  );
}
