// Memory of one `gigintel serve scoring` process with its two models loaded (matching-ranker and
// ads-ctr champions, trained by the real trainer): RSS once ready, after load on the three scoring
// endpoints (rank with explanations, score of one inline pair, ads CTRs), and its peak (VmHWM).
// Target: under 300 MB RSS after load. Prediction logging on by default; `off` as the 2nd argument.
//   npm run bench -- bench/scoring-memory.ts [seconds of load per endpoint, default 10] [on|off]
import type { Kysely } from 'kysely';
import { createDatabase } from '../platform/db/database.js';
import { loadNow, peakRssMb, rankBody, rssMb, setupScoring, startScoringServer, stop, wrkPost } from './scoring-lib.js';

const seconds = Number(process.argv[2] ?? 10);
const log = (process.argv[3] ?? 'on') === 'on';

console.log(`load average before setup: ${loadNow()}`);
const setup = await setupScoring();
try {
  // Creatives and a placement for the ads body, from the seeded tables.
  const handle = createDatabase({ url: setup.databaseUrl });
  const db = handle.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const creatives = (await db.selectFrom('creative').select('id').orderBy('id').limit(20).execute()).map((r) => String(r.id));
  const placement = String((await db.selectFrom('placement').select('id').orderBy('id').limit(1).execute())[0]!.id);
  await handle.close();

  const server = await startScoringServer(setup, log ? {} : { GIGINTEL_SCORING_LOG_PREDICTIONS: 'false' });
  try {
    const ready = rssMb(server.pid);
    const models = await (await fetch(`${server.base}/v2/models/matching-ranker`, { headers: { authorization: `Bearer ${setup.key}` } })).json().catch(() => null);
    console.log(`prediction log ${log ? 'on' : 'off'}; ready with two models loaded: RSS ${ready.toFixed(0)} MB${models ? '' : ' (model metadata not readable)'}`);
    const loads = [
      { label: 'rank 200, explain', url: `${server.base}/v1/match/rank`, body: rankBody(setup, 200, true) },
      { label: 'score 1 inline pair', url: `${server.base}/v1/match/score`, body: JSON.stringify({ pairs: [{ features: setup.pairFeatures }] }) },
      { label: 'ads 20 creatives, explain', url: `${server.base}/v1/ads/score`, body: JSON.stringify({ placementId: placement, creatives, explain: true }) },
    ];
    for (const l of loads) {
      const r = wrkPost(l.url, l.body, seconds, 50, setup.key);
      console.log(`${l.label.padEnd(26)} ${r.rps.toFixed(0)} req/s${r.non2xx ? ` (${r.non2xx} non-2xx!)` : ''}: RSS ${rssMb(server.pid).toFixed(0)} MB (load ${loadNow()})`);
    }
    await new Promise((r) => setTimeout(r, 5_000));
    const after = rssMb(server.pid);
    const peak = peakRssMb(server.pid);
    console.log(`after load, 5 s idle: RSS ${after.toFixed(0)} MB; peak ${peak.toFixed(0)} MB (target < 300 MB) ${peak < 300 ? 'PASS' : 'MISS'}`);
  } finally {
    await stop(server.child);
  }
} finally {
  await setup.cleanup();
}
