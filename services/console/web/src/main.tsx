// The console's shell: sign-in, the navigation and the page for the current path.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { can, currentSession, rememberedSession, signOut, type Scope, type Session } from './api';
import { AdsPage } from './pages/ads';
import { ExperimentPage, ExperimentsPage } from './pages/experiments';
import { ExportsPage } from './pages/exports';
import { ComparePage, ModelPage, ModelsPage, VersionPage } from './pages/models';
import { PipelinesPage } from './pages/pipelines';
import { PredictionsPage } from './pages/predictions';
import { SignInPage } from './pages/sign-in';
import { match, navigate, useLocation } from './router';
import { ErrorBox, Link, Loading } from './ui';
import './styles.css';

const NAV: { href: string; label: string; scope: Scope }[] = [
  { href: '/models', label: 'Models', scope: 'registry:read' },
  { href: '/predictions', label: 'Predictions', scope: 'score' },
  { href: '/experiments', label: 'Experiments', scope: 'experiments:read' },
  { href: '/ads', label: 'Ads', scope: 'admin' },
  { href: '/pipelines', label: 'Pipelines', scope: 'features:read' },
  { href: '/exports', label: 'Exports', scope: 'exports' },
];

function Page({ session, path }: { session: Session; path: string }) {
  let p: Record<string, string> | null;
  if ((p = match('/models/:name/versions/:version', path))) return <VersionPage session={session} model={p.name!} version={Number(p.version)} />;
  if ((p = match('/models/:name/compare', path))) return <ComparePage model={p.name!} />;
  if ((p = match('/models/:name', path))) return <ModelPage session={session} model={p.name!} />;
  if (match('/models', path)) return <ModelsPage />;
  if (match('/predictions', path)) return <PredictionsPage />;
  if ((p = match('/experiments/:key', path))) return <ExperimentPage session={session} experimentKey={p.key!} />;
  if (match('/experiments', path)) return <ExperimentsPage />;
  if (match('/ads', path)) return <AdsPage session={session} />;
  if (match('/pipelines', path)) return <PipelinesPage session={session} />;
  if (match('/exports', path)) return <ExportsPage session={session} />;
  return <section><h1>Not found</h1><p>No console page at <code>{path}</code>. <Link href="/">Home</Link></p></section>;
}

function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(() => rememberedSession() ?? undefined);
  const [error, setError] = useState<Error | null>(null);
  // Checked on every load; a remembered session draws the page meanwhile (an expired one signs out).
  useEffect(() => { currentSession().then(setSession, (e: Error) => { setError(e); setSession(null); }); }, []);

  if (session === undefined) return <main id="main"><Loading what="your session" /></main>;
  if (!session) {
    return <main id="main"><ErrorBox error={error} /><SignInPage onSignedIn={(s) => {
      setSession(s);
      if (path === '/' || path === '/sign-in') navigate(NAV.find((n) => can(s, n.scope))?.href ?? '/', true);
    }} /></main>;
  }
  const visible = NAV.filter((n) => can(session, n.scope));
  const home = path === '/' || path === '/sign-in';
  if (home && visible[0]) { queueMicrotask(() => navigate(visible[0]!.href, true)); }
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">gigintel</span>
        <nav aria-label="Console sections">
          <ul>
            {visible.map((n) => (
              <li key={n.href}><Link href={n.href} aria-current={path.startsWith(n.href) ? 'page' : undefined}>{n.label}</Link></li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title={`key ${session.keyId}, scopes: ${session.scopes.join(', ')}`}>{session.name}</span>
          <button type="button" class="link" onClick={async () => { await signOut(); setSession(null); navigate('/', true); }}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {home ? <Loading what="the console" /> : <Page session={session} path={path} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
