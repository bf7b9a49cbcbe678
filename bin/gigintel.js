#!/usr/bin/env node
// The gigintel command. Sources are TypeScript: transpile them (fast, only what changed), then
// run the JavaScript with plain Node. A loader hook (tsx) would cost ~0.7 s per start.
import { buildDist } from './build.js';

await buildDist();
await import('../dist/services/cli/main.js');
