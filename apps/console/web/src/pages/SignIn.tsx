import { type FormEvent, useEffect, useState } from 'react';
import { api, type SessionState } from '../api';

export function SignIn({ oidc, onSignedIn }: { oidc: boolean; onSignedIn: (state: SessionState) => void }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Sign in — AGF console';
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    api
      .post<SessionState>('/console-api/session/api-key', { apiKey })
      .then(onSignedIn)
      .catch((e: Error) => setError(e.message))
      .finally(() => setBusy(false));
  };
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to the AGF console</h1>
      {oidc && (
        <section aria-labelledby="sso">
          <h2 id="sso">With your organisation's account</h2>
          <p>
            <a className="button" href="/console-api/oidc/login">
              Sign in with single sign-on
            </a>
          </p>
        </section>
      )}
      <section aria-labelledby="key">
        <h2 id="key">With an AGF API key</h2>
        <form onSubmit={submit}>
          <label htmlFor="api-key">API key</label>
          <input id="api-key" name="apiKey" type="password" autoComplete="off" required minLength={8} value={apiKey} onChange={(e) => setApiKey(e.target.value)} aria-describedby="key-help" />
          <p id="key-help" className="hint">
            For local use: <code>npm start</code> writes the first admin key to <code>.agf/admin.key</code>; an admin issues the others (<code>POST /v1/api-keys</code>).
          </p>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
        </form>
      </section>
    </main>
  );
}
