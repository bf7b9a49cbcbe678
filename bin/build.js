// Transpiles the TypeScript sources to dist/ with esbuild (type-stripping only, no bundling;
// tsc --noEmit does the type checking). Run by bin/gigintel.js before every command: about 50 ms,
// so dist/ can never be stale. Files are written only when they changed, each through a temp file
// and a rename, so several gigintel processes starting at once never read a half-written module.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['platform', 'services', 'pipelines', 'model-registry', 'experiments', 'exports', 'migrations'];
export const DIST = join(ROOT, 'dist');

// The console's browser sources are bundled by Vite (npm run build:console), not transpiled here.
const SKIP = new Set([join(ROOT, 'services', 'console', 'web')]);

function tsFiles(dir) {
  if (SKIP.has(dir)) return [];
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return []; }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

export async function buildDist() {
  const entryPoints = SOURCE_DIRS.flatMap((d) => tsFiles(join(ROOT, d)));
  const result = await build({
    entryPoints, outdir: DIST, outbase: ROOT, format: 'esm', platform: 'node', target: 'node20',
    bundle: false, sourcemap: 'inline', write: false, logLevel: 'silent',
  });
  for (const file of result.outputFiles) {
    let current;
    try { current = readFileSync(file.path); } catch { current = null; }
    if (current && Buffer.compare(current, file.contents) === 0) continue;
    mkdirSync(dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
  return { files: entryPoints.length, dist: relative(ROOT, DIST) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { files, dist } = await buildDist();
  process.stdout.write(`built ${files} files into ${dist}/\n`);
}
