// GIGINTEL_FEATURE_STREAM=false: accepted events are queued for the source tables only, and no
// stream feature job exists for them; by default both are queued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adEvent, seedReferenceRows } from '../fixtures/events-seed.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { useTestEnv } from '../helpers/test-env.js';

describe.each([true, false])('event ingestion with features.stream %s', (stream) => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(env.config({ 'features.stream': stream, 'rateLimit.enabled': false }));
    await seedReferenceRows(env.db.db);
  });
  afterAll(async () => { await t?.close(); });

  it(`queues ${stream ? 'both the source-table and the stream jobs' : 'only the source-table job'}`, async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: t.adminAuth, payload: { events: [adEvent('s-1', 'impression', 1), adEvent('s-2', 'click', 2)] } });
    expect(res.statusCode).toBe(202);
    const counts = await t.platform.queue.counts(); // no workers run: the jobs wait
    expect(counts['events.apply']?.waiting).toBe(1);
    expect(counts['features.stream']?.waiting ?? 0).toBe(stream ? 1 : 0);
  });
});
