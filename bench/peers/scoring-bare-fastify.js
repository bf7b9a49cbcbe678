// The peer for bench/scoring-score.ts: bare Fastify, one process, no plugins, no logger, one
// POST route that parses the same JSON body as /v1/match/score and answers a constant.
import Fastify from 'fastify';

const app = Fastify();
app.post('/v1/match/score', async () => ({ results: [{ id: 'pair-0', score: 0.5, rank: null }] }));
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
process.stdout.write('ready\n');
