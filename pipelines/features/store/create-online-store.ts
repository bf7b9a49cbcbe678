// Picks the online store: Redis when a client is configured, the database otherwise. Both sit
// behind OnlineStore, so callers never know which one serves them.
import type { Redis } from 'ioredis';
import type { Db } from '../../../platform/db/database.js';
import type { FeatureSetRef } from '../feature-set.js';
import { createDbOnlineStore } from './db-online-store.js';
import type { OnlineStore } from './feature-store.types.js';
import { createRedisOnlineStore } from './redis-online-store.js';

export interface OnlineStoreDeps {
  db: Db;
  redis?: Redis | null;
  /** The configured redis.prefix. */
  prefix: string;
  /** Feature sets whose TTLs let Redis keys expire (see createRedisOnlineStore); ignored by the database store. */
  sets?: readonly FeatureSetRef[];
}

export function createOnlineStore(deps: OnlineStoreDeps): OnlineStore {
  return deps.redis
    ? createRedisOnlineStore({ redis: deps.redis, prefix: deps.prefix, sets: deps.sets })
    : createDbOnlineStore({ db: deps.db });
}
