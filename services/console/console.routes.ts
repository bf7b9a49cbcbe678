// Serves the built console (dist/console/) at /console: hashed assets cached for a year, index.html
// revalidated every time, a precompressed .br or .gz chosen by Accept-Encoding, and every other
// /console/* path answered with index.html (the app routes in the browser). Files are read into
// memory once at start (a few hundred KB). Without a build, a 503 page says how to make one.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { consoleDistDir, walk } from './build-console.js';

/**
 * The API's policy plus what the console's own files need: scripts, styles and fetches from this
 * origin only (no inline code), images from here or data:/blob: URLs (canvas exports, downloads).
 */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
  "font-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join(';');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2', '.map': 'application/json',
};
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Asset { type: string; raw: Buffer; br: Buffer | null; gz: Buffer | null; cache: string; etag: string }

export function loadConsoleAssets(dir: string): Map<string, Asset> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  for (const file of walk(dir)) {
    if (file.endsWith('.br') || file.endsWith('.gz')) continue;
    const rel = relative(dir, file).split(sep).join('/');
    const read = (p: string) => (existsSync(p) ? readFileSync(p) : null);
    assets.set(`/${rel}`, {
      type: TYPES[extname(file)] ?? 'application/octet-stream', raw: readFileSync(file), br: read(`${file}.br`), gz: read(`${file}.gz`),
      cache: rel.startsWith('assets/') ? IMMUTABLE : 'no-cache',
      etag: `"${createHash('sha256').update(readFileSync(file)).digest('base64url').slice(0, 22)}"`,
    });
  }
  return assets;
}

/** br when the client takes it, else gzip, else identity (q=0 refuses an encoding). */
export function pickEncoding(header: string | undefined): 'br' | 'gzip' | null {
  if (!header) return null;
  const accepted = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name) accepted.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const ok = (e: string) => (accepted.get(e) ?? accepted.get('*') ?? 0) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : null;
}

const UNBUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gigintel console: not built</title></head>
<body><main><h1>The console is not built</h1><p>Run <code>npm run build:console</code> and restart gigintel.</p></main></body></html>`;

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const assets = loadConsoleAssets(opts.dir ?? consoleDistDir());

  const send = (req: FastifyRequest, reply: FastifyReply, path: string) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    if (!assets) return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(UNBUILT);
    let asset = assets.get(path);
    // Hashed assets that do not exist are 404 (a stale tab asking for an old build), not the app.
    if (!asset && path.startsWith('/assets/')) return reply.status(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('not found');
    asset ??= assets.get('/index.html')!;
    reply.header('etag', asset.etag);
    // index.html is revalidated on every load: an unchanged build answers 304 with no body.
    if (req.headers['if-none-match'] === asset.etag) return reply.status(304).header('cache-control', asset.cache).send();
    const encoding = pickEncoding(req.headers['accept-encoding']);
    const body = encoding === 'br' && asset.br ? asset.br : encoding === 'gzip' && asset.gz ? asset.gz : asset.raw;
    if (asset.br || asset.gz) reply.header('vary', 'accept-encoding');
    if (body !== asset.raw) reply.header('content-encoding', body === asset.br ? 'br' : 'gzip');
    return reply.header('cache-control', asset.cache).type(asset.type).send(body);
  };

  app.get('/console', { schema: { hide: true } }, (req, reply) => send(req, reply, '/index.html'));
  app.get('/console/*', { schema: { hide: true } }, (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    return send(req, reply, rest === '' ? '/index.html' : `/${rest}`);
  });
}
