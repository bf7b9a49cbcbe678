// Builds the console (services/console/web, a Vite + Preact single-page app) into dist/console/,
// then precompresses every text asset (.br and .gz next to it) so serving never compresses per
// request. `npm run build:console` runs it; `gigintel serve` runs ensureConsoleBuilt() first, which
// builds only when dist/console is missing or older than a web source.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** The repository root, found from this file whether it runs from the sources or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'services'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the gigintel repository root');
    dir = up;
  }
  return dir;
}

export const consoleWebDir = () => join(repoRoot(), 'services', 'console', 'web');
export const consoleDistDir = () => join(repoRoot(), 'dist', 'console');

const COMPRESSIBLE = /\.(js|css|html|svg|json|txt|map)$/;

export interface ConsoleBuild { files: number; bytes: number; gzipBytes: number; brotliBytes: number; ms: number }

/** Every file below a folder. */
export function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Writes name.br and name.gz beside each text asset; returns the sizes served to a browser. */
export function precompress(dir: string): Omit<ConsoleBuild, 'ms'> {
  let files = 0; let bytes = 0; let gzipBytes = 0; let brotliBytes = 0;
  for (const file of walk(dir)) {
    if (file.endsWith('.br') || file.endsWith('.gz')) continue;
    const raw = readFileSync(file);
    files++; bytes += raw.length;
    if (!COMPRESSIBLE.test(file)) { gzipBytes += raw.length; brotliBytes += raw.length; continue; }
    const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
    const gz = gzipSync(raw, { level: 9 });
    writeFileSync(`${file}.br`, br);
    writeFileSync(`${file}.gz`, gz);
    gzipBytes += gz.length; brotliBytes += br.length;
  }
  return { files, bytes, gzipBytes, brotliBytes };
}

export async function buildConsole(opts: { quiet?: boolean } = {}): Promise<ConsoleBuild> {
  const started = performance.now();
  const web = consoleWebDir();
  const dist = consoleDistDir();
  // Built beside the live folder and swapped in, so a server reading dist/console never sees half a build.
  const tmp = `${dist}.build-${process.pid}-${Date.now()}`;
  const { build } = await import('vite'); // a dev dependency: imported only when a build is wanted
  await build({
    configFile: join(web, 'vite.config.ts'), root: web, logLevel: opts.quiet ? 'error' : 'info',
    build: { outDir: tmp, emptyOutDir: true },
  });
  const sizes = precompress(tmp);
  mkdirSync(dirname(dist), { recursive: true });
  const old = `${dist}.old-${process.pid}-${Date.now()}`;
  if (existsSync(dist)) renameSync(dist, old);
  try {
    renameSync(tmp, dist);
  } catch (err) {
    // Another process swapped its build in meanwhile: keep that one.
    if (!existsSync(join(dist, 'index.html'))) throw err;
    rmSync(tmp, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  return { ...sizes, ms: Math.round(performance.now() - started) };
}

/** True when dist/console/index.html exists and is newer than every web source. */
export function consoleIsFresh(): boolean {
  const index = join(consoleDistDir(), 'index.html');
  if (!existsSync(index)) return false;
  const builtAt = statSync(index).mtimeMs;
  const web = consoleWebDir();
  if (!existsSync(web)) return true; // an install without the sources: serve what was built
  return walk(web).every((f) => statSync(f).mtimeMs <= builtAt);
}

/** Builds the console when it is missing or stale; 'fresh' when nothing had to be done. */
export async function ensureConsoleBuilt(opts: { quiet?: boolean } = {}): Promise<'fresh' | ConsoleBuild> {
  if (consoleIsFresh()) return 'fresh';
  return buildConsole(opts);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await buildConsole({ quiet: true });
  process.stdout.write(`console built into ${relative(process.cwd(), consoleDistDir()) || '.'}/: ${r.files} files, ${(r.bytes / 1024).toFixed(1)} KiB raw, ${(r.brotliBytes / 1024).toFixed(1)} KiB brotli, ${(r.gzipBytes / 1024).toFixed(1)} KiB gzip, ${r.ms} ms\n`);
}
