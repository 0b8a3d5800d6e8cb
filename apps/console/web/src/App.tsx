import { useCallback, useEffect, useState } from 'react';
import { api, type Caller, type SessionState, useCsrfToken } from './api';
import { Link, usePath } from './router';
import { CoeDashboard } from './pages/CoeDashboard';
import { Escalations } from './pages/Escalations';
import { ExecutiveDashboard } from './pages/ExecutiveDashboard';
import { Inbox } from './pages/Inbox';
import { RequestStory } from './pages/RequestStory';
import { SignIn } from './pages/SignIn';
import { TechnicalDashboard } from './pages/TechnicalDashboard';

const has = (caller: Caller, ...roles: string[]) => roles.some((role) => caller.roles.includes(role));

export function App() {
  const [session, setSession] = useState<SessionState | undefined>();
  const [error, setError] = useState<string | undefined>();
  const { path, navigate } = usePath();

  const refresh = useCallback(() => {
    api
      .get<SessionState>('/console-api/session')
      .then((state) => {
        useCsrfToken(state.csrfToken);
        setSession(state);
      })
      .catch((e: Error) => setError(e.message));
  }, []);
  useEffect(refresh, [refresh]);

  if (error) return <p role="alert">The console cannot reach its server: {error}</p>;
  if (!session) return <p aria-busy="true">Loading…</p>;
  if (!session.signedIn || !session.caller) return <SignIn oidc={session.oidc} onSignedIn={(state) => (useCsrfToken(state.csrfToken), setSession(state))} />;

  const caller = session.caller;
  const signOut = () => {
    void api.delete('/console-api/session').finally(() => {
      navigate('/');
      refresh();
    });
  };
  const route = path.split('?')[0]!;
  const story = /^\/requests\/([0-9a-f-]{36})$/i.exec(route);
  const insights = has(caller, 'admin', 'auditor');

  let page;
  if (story) page = <RequestStory id={story[1]!} caller={caller} />;
  else if (route === '/escalations') page = <Escalations />;
  else if (route === '/dashboards/executive') page = <ExecutiveDashboard />;
  else if (route === '/dashboards/technical') page = <TechnicalDashboard />;
  else if (route === '/dashboards/coe') page = <CoeDashboard />;
  else page = <Inbox caller={caller} />;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <p className="brand">AGF console</p>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/">Review inbox</Link>
            </li>
            {insights && (
              <>
                <li>
                  <Link to="/escalations">Escalations</Link>
                </li>
                <li>
                  <Link to="/dashboards/executive">Executive</Link>
                </li>
                <li>
                  <Link to="/dashboards/technical">Technical</Link>
                </li>
                <li>
                  <Link to="/dashboards/coe">CoE</Link>
                </li>
              </>
            )}
          </ul>
        </nav>
        <div className="who">
          <span>
            Signed in as <strong data-testid="subject">{caller.subject}</strong> ({caller.roles.join(', ')})
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
