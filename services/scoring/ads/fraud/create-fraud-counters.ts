// Picks the fraud counters: Redis when a client is configured, the database otherwise. Both sit
// behind FraudCounters and pass the same tests, so the rules never know which one serves them.
import type { Redis } from 'ioredis';
import type { Db } from '../../../../platform/db/database.js';
import { createDbFraudCounters } from './db-fraud-counters.js';
import type { FraudCounters } from './fraud.types.js';
import { createRedisFraudCounters } from './redis-fraud-counters.js';

export function createFraudCounters(deps: { db: Db; redis?: Redis | null; prefix: string }): FraudCounters {
  return deps.redis ? createRedisFraudCounters({ redis: deps.redis, prefix: deps.prefix }) : createDbFraudCounters({ db: deps.db });
}
