// GET /v1/admin/sensitive-attributes: admin scope only, every read audited, keyset paging that
// never splits or repeats a row, on both dialects.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../../helpers/test-env.js';

interface Page { attributes: { subjectId: string; attribute: string; value: string }[]; next: string | null }

describe.each(DIALECTS)('sensitive attributes on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let score: { authorization: string };
  const rows = ['u1', 'u2', 'u3'].flatMap((s, i) => [
    { subject_id: s, attribute: 'age_band', value: ['18-24', '25-34', '35-44'][i]!, updated_at: 1 },
    { subject_id: s, attribute: 'gender', value: i % 2 ? 'f' : 'm', updated_at: 1 },
  ]);

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false }));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await (env.db.db as unknown as Kysely<any>).insertInto('sensitive_attribute').values(rows).execute();
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'scorer', scopes: ['score'] } });
    score = { authorization: `Bearer ${res.json<{ key: string }>().key}` };
  });
  afterAll(async () => { await t?.close(); });

  const get = (query: string, headers: Record<string, string> = t.adminAuth) => t.app.inject({ method: 'GET', url: `/v1/admin/sensitive-attributes${query}`, headers });

  it('is refused without the admin scope', async () => {
    expect((await get('', {})).statusCode).toBe(401);
    expect((await get('', score)).statusCode).toBe(403);
    expect((await get('/names', score)).statusCode).toBe(403);
  });

  it('pages through every row exactly once, a subject split across pages included', async () => {
    const seen: string[] = [];
    let after: string | null = '';
    for (let pages = 0; after !== null && pages < 10; pages++) {
      const res = await get(`?limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page: Page = res.json();
      seen.push(...page.attributes.map((a) => `${a.subjectId}/${a.attribute}=${a.value}`));
      after = page.next;
    }
    expect(seen).toEqual(rows.map((r) => `${r.subject_id}/${r.attribute}=${r.value}`));
  });

  it('filters by subject and attribute and records each read in the audit log', async () => {
    const res = await get('?subjectId=u2&subjectId=u3&attribute=gender');
    expect(res.json<Page>().attributes).toEqual([
      { subjectId: 'u2', attribute: 'gender', value: 'f' }, { subjectId: 'u3', attribute: 'gender', value: 'm' },
    ]);
    const audit = await t.app.inject({ method: 'GET', url: '/v1/admin/audit?objectType=sensitive_attribute&limit=1', headers: t.adminAuth });
    expect(audit.json().entries[0]).toMatchObject({ action: 'sensitive_attribute.read', objectId: 'gender', details: { subjects: 2, returned: 2 } });
    const names = await get('/names');
    expect(names.json()).toEqual({ attributes: [{ attribute: 'age_band', subjects: 3 }, { attribute: 'gender', subjects: 3 }] });
  });

  it('names the field of a bad query', async () => {
    const res = await get('?subjectId=bad%20id');
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().error)).toContain('subjectId');
  });
});
