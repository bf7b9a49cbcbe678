// Sign-in with an API key: kept in this tab only (sessionStorage, sent as a Bearer header) or
// traded for an HttpOnly session cookie the server signs.
import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api';
import { errorText, useReady } from '../ui';

export function SignInPage({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [mode, setMode] = useState<'cookie' | 'key'>('cookie');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  useReady('sign-in', true);
  return (
    <section class="sign-in">
      <h1>Sign in to the gigintel console</h1>
      <p>Use an API key (<code>gigintel keys create --name you --scopes registry:read,…</code>). The pages you see and the
        buttons offered follow the key's scopes.</p>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true); setMessage('Signing in…');
        try { onSignedIn(await signIn(key.trim(), mode)); } catch (err) { setMessage(`Sign-in failed: ${errorText(err)}`); } finally { setBusy(false); }
      }}>
        <label for="api-key">API key</label>
        <input id="api-key" name="apiKey" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="gi_…" />
        <fieldset>
          <legend>Keep me signed in with</legend>
          <label><input type="radio" name="mode" value="cookie" checked={mode === 'cookie'} onChange={() => setMode('cookie')} /> a session cookie (the key is not stored in the browser)</label>
          <label><input type="radio" name="mode" value="key" checked={mode === 'key'} onChange={() => setMode('key')} /> the key, for this tab only (sessionStorage)</label>
        </fieldset>
        <button type="submit" disabled={busy || key.trim() === ''}>Sign in</button>
        <p class="status" role="status" aria-live="polite">{message}</p>
      </form>
    </section>
  );
}
