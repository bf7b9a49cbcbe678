// The online store in the database (feature_online), used when no Redis is configured: the same
// guard, TTL rules and answers as the Redis store, over one SELECT per read.
import { sql } from 'kysely';
import type { Db } from '../../../platform/db/database.js';
import { dependencyFailure, ServiceUnavailableError } from '../../../platform/errors/app-error.js';
import { checkFeatureRows, checkReadInput } from './check-online-input.js';
import type { FeatureRow, OnlineFeatures, OnlineStore, OnlineWriteResult } from './feature-store.types.js';
import { readOnlineRows, upsertOnlineRows } from './online-store.repository.js';
import { latestPerEntity, resolveOnlineFeatures } from './resolve-online-features.js';

export interface DbOnlineStoreOptions {
  db: Db;
  /** Rows per upsert statement (default 500). */
  chunkSize?: number;
}

export function createDbOnlineStore(opts: DbOnlineStoreOptions): OnlineStore {
  const { db } = opts;
  const chunkSize = opts.chunkSize ?? 500;

  return {
    kind: 'database',

    async write(input, now = Date.now()): Promise<OnlineWriteResult> {
      checkFeatureRows(input);
      const { rows, superseded } = latestPerEntity(input);
      // One statement per set version and chunk: the repository counts per (set, version).
      const bySet = new Map<string, FeatureRow[]>();
      for (const r of rows) {
        const k = `${r.featureSet}\u0000${r.version}`;
        const list = bySet.get(k);
        if (list) list.push(r);
        else bySet.set(k, [r]);
      }
      let written = 0;
      let stale = superseded;
      try {
        for (const list of bySet.values()) {
          for (let i = 0; i < list.length; i += chunkSize) {
            const res = await upsertOnlineRows(db, list[0]!.featureSet, list[0]!.version, list.slice(i, i + chunkSize), now);
            written += res.written;
            stale += res.stale;
          }
        }
      } catch (err) {
        throw dependencyFailure(err) ?? err;
      }
      return { written, stale };
    },

    async read(set, entityKeys, now = Date.now()): Promise<OnlineFeatures[]> {
      checkReadInput(set, entityKeys);
      if (entityKeys.length === 0) return [];
      const held = await readOnlineRows(db, set.name, set.version, entityKeys).catch((err: unknown) => { throw dependencyFailure(err) ?? err; });
      return entityKeys.map((k) => resolveOnlineFeatures(set, k, held(k) ?? null, now));
    },

    async readMany(requests, now = Date.now()): Promise<OnlineFeatures[][]> {
      // The database has no multi-get across sets: the reads run at once on the pool.
      return Promise.all(requests.map(({ set, entityKeys }) => this.read(set, entityKeys, now)));
    },

    async ping(): Promise<void> {
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        throw dependencyFailure(err) ?? new ServiceUnavailableError('database', `online store unavailable: ${(err as Error).message}`);
      }
    },
  };
}
