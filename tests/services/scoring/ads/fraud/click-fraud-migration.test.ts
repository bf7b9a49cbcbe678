// The click-fraud migration goes down and up again on both dialects (DROP INDEX has no ON clause on SQLite).
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { down, up } from '../../../../../migrations/20261126T0105_click_fraud.js';
import { DIALECTS, useTestEnv } from '../../../../helpers/test-env.js';

const TABLES = ['flagged_click', 'fraud_impression_claim', 'fraud_velocity_key', 'fraud_velocity_hit'];

describe.each(DIALECTS)('migration 20261126T0105_click_fraud on %s', (dialect) => {
  const env = useTestEnv({ dialect });

  const present = async () => {
    const names = (await env.db.db.introspection.getTables()).map((t) => t.name);
    return TABLES.filter((t) => names.includes(t));
  };

  it('drops its tables and creates them again', async () => {
    expect(await present()).toEqual(TABLES);
    await down(env.db.db);
    expect(await present()).toEqual([]);
    await up(env.db.db);
    expect(await present()).toEqual(TABLES);
    await sql`insert into flagged_click (click_id, reasons, score, status, details, clicked_at, created_at) values ('c1', '[]', 0, 'flagged', '{}', 1, 1)`.execute(env.db.db);
    expect((await sql<{ n: number }>`select count(*) as n from flagged_click`.execute(env.db.db)).rows[0]!.n).toBe(1);
  });
});
