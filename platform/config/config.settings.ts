// Every setting gigintel reads, in one table: its path in the config object, its environment
// variable, its schema, its default and what it is for. The loader, `gigintel config` and the
// configuration table in the README are all derived from this list.
import { Type, type TSchema } from 'typebox';

export interface SettingSpec {
  path: string;
  env: string;
  schema: TSchema;
  default: unknown;
  /** The rule in words, used in error messages: "must be …". */
  rule: string;
  doc: string;
  secret?: boolean;
}

const int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const URL_LIKE = '^(sqlite:|mysql://|mariadb://)';
const REDIS_URL = '^rediss?://';

export const SETTINGS: readonly SettingSpec[] = [
  { path: 'http.host', env: 'GIGINTEL_HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1', rule: 'must be a host name or IP address', doc: 'Interface the HTTP server binds to (0.0.0.0 for all).' },
  { path: 'http.port', env: 'GIGINTEL_PORT', schema: int(0, 65535), default: 8080, rule: 'must be an integer from 0 to 65535', doc: 'HTTP port (0 picks a free one).' },
  { path: 'http.bodyLimitBytes', env: 'GIGINTEL_BODY_LIMIT_BYTES', schema: int(1024, 1024 ** 3), default: 10 * 1024 * 1024, rule: 'must be an integer from 1024 to 1073741824', doc: 'Largest accepted request body.' },
  { path: 'http.trustProxy', env: 'GIGINTEL_TRUST_PROXY', schema: Type.Boolean(), default: false, rule: 'must be true or false', doc: 'Trust X-Forwarded-* headers (behind a load balancer).' },
  { path: 'http.shutdownTimeoutMs', env: 'GIGINTEL_SHUTDOWN_TIMEOUT_MS', schema: int(100, 600_000), default: 10_000, rule: 'must be an integer from 100 to 600000', doc: 'Longest a graceful shutdown may take before the process exits anyway.' },
  { path: 'database.url', env: 'GIGINTEL_DATABASE_URL', schema: Type.String({ pattern: URL_LIKE }), default: 'sqlite:./data/gigintel.db', rule: 'must start with sqlite:, mysql:// or mariadb://', doc: 'sqlite:<file> (or sqlite::memory:) for the embedded shape, mysql://user:pass@host:port/db for MySQL/MariaDB.', secret: true },
  { path: 'database.poolSize', env: 'GIGINTEL_DATABASE_POOL_SIZE', schema: int(1, 500), default: 10, rule: 'must be an integer from 1 to 500', doc: 'MySQL connection pool size.' },
  { path: 'database.connectTimeoutMs', env: 'GIGINTEL_DATABASE_CONNECT_TIMEOUT_MS', schema: int(100, 120_000), default: 5_000, rule: 'must be an integer from 100 to 120000', doc: 'MySQL connect timeout.' },
  { path: 'database.autoMigrate', env: 'GIGINTEL_AUTO_MIGRATE', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'Apply pending migrations when a server or worker starts.' },
  { path: 'redis.url', env: 'GIGINTEL_REDIS_URL', schema: Type.Union([Type.Null(), Type.String({ pattern: REDIS_URL })]), default: null, rule: 'must be empty or start with redis:// or rediss://', doc: 'Redis for BullMQ queues and shared rate limits; empty runs the inline, database-backed queue.', secret: true },
  { path: 'redis.prefix', env: 'GIGINTEL_REDIS_PREFIX', schema: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }), default: 'gigintel', rule: 'must be 1-64 characters of letters, digits, _ . : -', doc: 'Key prefix for every Redis key this service writes.' },
  { path: 'queue.concurrency', env: 'GIGINTEL_QUEUE_CONCURRENCY', schema: int(1, 256), default: 4, rule: 'must be an integer from 1 to 256', doc: 'Jobs a worker runs at once per job type (unless the job says otherwise).' },
  { path: 'queue.attempts', env: 'GIGINTEL_QUEUE_ATTEMPTS', schema: int(1, 100), default: 5, rule: 'must be an integer from 1 to 100', doc: 'Attempts before a job goes to the dead-letter list.' },
  { path: 'queue.backoffMs', env: 'GIGINTEL_QUEUE_BACKOFF_MS', schema: int(0, 3_600_000), default: 1_000, rule: 'must be an integer from 0 to 3600000', doc: 'First retry delay; doubles with each attempt.' },
  { path: 'queue.lockDurationMs', env: 'GIGINTEL_QUEUE_LOCK_MS', schema: int(200, 3_600_000), default: 30_000, rule: 'must be an integer from 200 to 3600000', doc: 'How long a job stays claimed by a worker that stopped answering before another worker runs it again.' },
  { path: 'queue.pollIntervalMs', env: 'GIGINTEL_QUEUE_POLL_MS', schema: int(10, 60_000), default: 250, rule: 'must be an integer from 10 to 60000', doc: 'Inline queue: how often workers look for due jobs.' },
  { path: 'rateLimit.enabled', env: 'GIGINTEL_RATE_LIMIT_ENABLED', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'Per-key (or per-IP) rate limiting.' },
  { path: 'rateLimit.max', env: 'GIGINTEL_RATE_LIMIT_MAX', schema: int(1, 10_000_000), default: 6_000, rule: 'must be an integer from 1 to 10000000', doc: 'Requests allowed per window per key or IP.' },
  { path: 'rateLimit.windowMs', env: 'GIGINTEL_RATE_LIMIT_WINDOW_MS', schema: int(1_000, 86_400_000), default: 60_000, rule: 'must be an integer from 1000 to 86400000', doc: 'Rate-limit window.' },
  { path: 'cors.origins', env: 'GIGINTEL_CORS_ORIGINS', schema: Type.Array(Type.String({ pattern: '^(\\*|https?://[^/\\s]+)$' })), default: [], rule: 'must be a comma-separated list of origins like https://app.example.com (or *)', doc: 'Origins allowed to call the API from a browser.' },
  { path: 'security.csp', env: 'GIGINTEL_CSP', schema: Type.String({ minLength: 1 }), default: "default-src 'none'; frame-ancestors 'none'", rule: 'must be a non-empty Content-Security-Policy', doc: 'Content-Security-Policy on API responses (the /docs pages set their own, hash-based one).' },
  { path: 'metrics.token', env: 'GIGINTEL_METRICS_TOKEN', schema: Type.Union([Type.Null(), Type.String({ minLength: 16 })]), default: null, rule: 'must be empty or at least 16 characters', doc: 'Bearer token Prometheus sends to GET /metrics; empty means an API key with the admin scope is required.', secret: true },
  { path: 'log.level', env: 'GIGINTEL_LOG_LEVEL', schema: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l))), default: 'info', rule: `must be one of ${LOG_LEVELS.join(', ')}`, doc: 'Log level (JSON lines on stdout).' },
  { path: 'log.pretty', env: 'GIGINTEL_LOG_PRETTY', schema: Type.Boolean(), default: false, rule: 'must be true or false', doc: 'Human-readable one-line logs instead of JSON.' },
  { path: 'auth.adminKey', env: 'GIGINTEL_ADMIN_KEY', schema: Type.Union([Type.Null(), Type.String({ minLength: 24 })]), default: null, rule: 'must be empty or at least 24 characters', doc: 'A fixed admin API key for automation, instead of the one generated on first start.', secret: true },
  { path: 'auth.cacheTtlMs', env: 'GIGINTEL_AUTH_CACHE_TTL_MS', schema: int(0, 600_000), default: 5_000, rule: 'must be an integer from 0 to 600000', doc: 'How long a verified key is cached; a revocation from another process takes effect within this time.' },
  { path: 'readiness.maxQueueDepth', env: 'GIGINTEL_READY_MAX_QUEUE_DEPTH', schema: int(0, 1_000_000_000), default: 0, rule: 'must be an integer from 0 to 1000000000', doc: 'GET /readyz fails when waiting jobs exceed this (0: never).' },
  { path: 'ingest.maxBatch', env: 'GIGINTEL_INGEST_MAX_BATCH', schema: int(1, 100_000), default: 1000, rule: 'must be an integer from 1 to 100000', doc: 'Most events one POST /v1/events may carry; a larger batch is refused with 400.' },
  { path: 'features.stream', env: 'GIGINTEL_FEATURE_STREAM', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'Queue every accepted event batch for the stream feature processors too (windowed ad and activity features within seconds); false leaves those features to batch runs and halves the queue work per event.' },
  { path: 'data.dir', env: 'GIGINTEL_DATA_DIR', schema: Type.String({ minLength: 1 }), default: './data', rule: 'must be a directory path', doc: 'Where dataset snapshots and model artifacts are written (shared storage when several processes build or load them).' },
  { path: 'pipeline.schedule', env: 'GIGINTEL_PIPELINE_SCHEDULE', schema: Type.String({ pattern: '^(off|(\\S+\\s+){4}\\S+)$' }), default: '0 3 * * *', rule: 'must be a five-field cron expression (UTC) or off', doc: 'When the incremental feature pipeline runs by itself (cron, UTC); off disables the schedule.' },
  { path: 'pipeline.chunkSize', env: 'GIGINTEL_PIPELINE_CHUNK_SIZE', schema: int(10, 100_000), default: 2_000, rule: 'must be an integer from 10 to 100000', doc: 'Entities per batch feature job.' },
  { path: 'registry.gate.aucMargin', env: 'GIGINTEL_REGISTRY_GATE_AUC_MARGIN', schema: Type.Number({ minimum: 0, maximum: 1 }), default: 0.005, rule: 'must be a number from 0 to 1', doc: 'Promotion to champion fails when the candidate\'s holdout AUC is below the current champion\'s by more than this.' },
  { path: 'registry.gate.minDisparateImpact', env: 'GIGINTEL_REGISTRY_GATE_MIN_DISPARATE_IMPACT', schema: Type.Number({ minimum: 0, maximum: 1 }), default: 0.8, rule: 'must be a number from 0 to 1', doc: 'Promotion to champion needs a disparate-impact ratio at least this high for every sensitive attribute (the four-fifths rule).' },
  { path: 'registry.gate.maxEqualOpportunityDifference', env: 'GIGINTEL_REGISTRY_GATE_MAX_EQUAL_OPPORTUNITY_DIFF', schema: Type.Number({ minimum: 0, maximum: 1 }), default: 0.1, rule: 'must be a number from 0 to 1', doc: 'Promotion to champion needs an equal-opportunity difference at most this large for every sensitive attribute.' },
  { path: 'registry.gate.minGroupSize', env: 'GIGINTEL_REGISTRY_GATE_MIN_GROUP_SIZE', schema: int(1, 1_000_000), default: 20, rule: 'must be an integer from 1 to 1000000', doc: 'Fairness gates judge only groups with at least this many holdout rows (selection rates) or positives (true positive rates); smaller groups are reported as too small to judge.' },
  { path: 'registry.gate.fairnessConfidence', env: 'GIGINTEL_REGISTRY_GATE_FAIRNESS_CONFIDENCE', schema: Type.Number({ minimum: 0, maximum: 0.999 }), default: 0.95, rule: 'must be a number from 0 to 0.999', doc: 'A fairness gate fails only when its confidence interval at this level lies beyond the threshold too (the disparity is not sampling noise); 0 judges point estimates alone.' },
  { path: 'registry.gatedAliases', env: 'GIGINTEL_REGISTRY_GATED_ALIASES', schema: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}$' }), { minItems: 0 }), default: ['champion'], rule: 'must be a comma-separated list of alias names', doc: 'Aliases whose moves must pass the promotion gates.' },
  { path: 'registry.webhooks.urls', env: 'GIGINTEL_REGISTRY_WEBHOOK_URLS', schema: Type.Array(Type.String({ pattern: '^https?://\\S+$' })), default: [], rule: 'must be a comma-separated list of http(s) URLs', doc: 'Where registry events (version.created, alias.moved, alias.rolled_back, gate.failed) are POSTed, signed with HMAC-SHA256.' },
  { path: 'registry.webhooks.secret', env: 'GIGINTEL_REGISTRY_WEBHOOK_SECRET', schema: Type.Union([Type.Null(), Type.String({ minLength: 16 })]), default: null, rule: 'must be empty or at least 16 characters', doc: 'HMAC secret for the X-Gigintel-Signature header; required when webhook URLs are set.', secret: true },
  { path: 'registry.webhooks.timeoutMs', env: 'GIGINTEL_REGISTRY_WEBHOOK_TIMEOUT_MS', schema: int(100, 120_000), default: 10_000, rule: 'must be an integer from 100 to 120000', doc: 'How long one webhook delivery may take before it is retried.' },
  { path: 'scoring.models', env: 'GIGINTEL_SCORING_MODELS', schema: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,99}(@[a-z][a-z0-9_-]{0,63})?$' })), default: ['matching-ranker', 'ads-ctr'], rule: 'must be a comma-separated list of model or model@alias names', doc: 'Models the scoring service serves, each through an alias (default champion): /readyz waits until every one is loaded.' },
  { path: 'scoring.canary', env: 'GIGINTEL_SCORING_CANARY', schema: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,99}=[a-z][a-z0-9_-]{0,63}:(0(\\.\\d+)?|1(\\.0+)?)$' })), default: [], rule: 'must be a comma-separated list of model=alias:share, share from 0 to 1 (matching-ranker=challenger:0.1)', doc: 'Canary traffic: that share of units (sticky by unit id hash) is served by another alias of the model.' },
  { path: 'scoring.shadow', env: 'GIGINTEL_SCORING_SHADOW', schema: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,99}=[a-z][a-z0-9_-]{0,63}$' })), default: [], rule: 'must be a comma-separated list of model=alias', doc: 'Shadow scoring: the alias scores every request of the model after the response, logged, never returned.' },
  { path: 'scoring.pollMs', env: 'GIGINTEL_SCORING_POLL_MS', schema: int(100, 600_000), default: 1_000, rule: 'must be an integer from 100 to 600000', doc: 'How often the scoring service checks whether a served alias moved (a move is served within about this time).' },
  { path: 'scoring.explainTopK', env: 'GIGINTEL_SCORING_EXPLAIN_TOP_K', schema: int(1, 100), default: 5, rule: 'must be an integer from 1 to 100', doc: 'Contributions listed in each explanation.' },
  { path: 'scoring.candidateLimit', env: 'GIGINTEL_SCORING_CANDIDATE_LIMIT', schema: int(1, 10_000), default: 500, rule: 'must be an integer from 1 to 10000', doc: 'Most candidates one ranking request scores (given or found by the pre-filter).' },
  { path: 'scoring.logPredictions', env: 'GIGINTEL_SCORING_LOG_PREDICTIONS', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'Log every scored request (prediction id, version, candidates, scores, explanations) through the queue for audits and experiments.' },
  { path: 'scoring.entityCacheMs', env: 'GIGINTEL_SCORING_ENTITY_CACHE_MS', schema: int(0, 60_000), default: 1_000, rule: 'must be an integer from 0 to 60000', doc: 'How long the scoring service reuses a provider\'s or job\'s online features read for a ranking (ms; 0: read every request). A served value lags the store by at most this; TTLs are still applied at request time.' },
  { path: 'scoring.auditSchedule', env: 'GIGINTEL_SCORING_AUDIT_SCHEDULE', schema: Type.String({ pattern: '^(off|(\\S+\\s+){4}\\S+)$' }), default: '30 4 * * *', rule: 'must be a five-field cron expression (UTC) or off', doc: 'When the fairness audit of the last day of logged predictions runs, per model version (cron, UTC); off disables it.' },
  { path: 'experiments.analyzeSchedule', env: 'GIGINTEL_EXPERIMENTS_ANALYZE_SCHEDULE', schema: Type.String({ pattern: '^(off|(\\S+\\s+){4}\\S+)$' }), default: '*/15 * * * *', rule: 'must be a five-field cron expression (UTC) or off', doc: 'When running experiments are analysed and their guardrails checked (a breach or a sample-ratio mismatch rolls the experiment back); off disables it.' },
  { path: 'experiments.incrementalAnalysis', env: 'GIGINTEL_EXPERIMENTS_INCREMENTAL_ANALYSIS', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'MySQL: keep each events.* metric\'s per-unit values between analyses and compute again only the units whose exposures or events came in since (a minute of joins becomes seconds at 10M exposures); false joins all facts every time.' },
  { path: 'exports.minGroupSize', env: 'GIGINTEL_EXPORTS_MIN_GROUP_SIZE', schema: int(1, 1_000_000), default: 10, rule: 'must be an integer from 1 to 1000000', doc: 'Rows of aggregate reports describing fewer units (users, clients) than this are suppressed from exports (small-cell privacy).' },
  { path: 'exports.pseudonymKey', env: 'GIGINTEL_EXPORTS_PSEUDONYM_KEY', schema: Type.Union([Type.Null(), Type.String({ minLength: 32 })]), default: null, rule: 'must be empty or at least 32 characters', doc: 'HMAC key that pseudonymises user ids in exports for non-admin keys; empty: one generated once and kept in the database (table app_secret), so pseudonyms stay stable across exports and processes.', secret: true },
  { path: 'exports.fileTtlMs', env: 'GIGINTEL_EXPORTS_FILE_TTL_MS', schema: int(60_000, 90 * 86_400_000), default: 86_400_000, rule: 'must be an integer from 60000 to 7776000000', doc: 'How long the file of an export job stays downloadable (files live under data.dir/exports).' },
  { path: 'exports.schedules', env: 'GIGINTEL_EXPORTS_SCHEDULES', schema: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}=[a-z][a-z0-9-]{0,63}:(csv|xlsx)@(\\S+\\s+){4}[^\\s?]+(\\?\\S*)?$' })), default: [], rule: 'must be a comma-separated list of name=report:csv|xlsx@<five-field cron, UTC>[?param=value&…], e.g. finance-daily=finance-summary:xlsx@0 6 * * *?from=yesterday&to=today', doc: 'Scheduled exports: each runs as an export job at its cron time; relative dates (today, yesterday, -7d) are resolved when it runs. Find the files with GET /v1/exports/jobs.' },
  { path: 'ads.tokenSecret', env: 'GIGINTEL_ADS_TOKEN_SECRET', schema: Type.Union([Type.Null(), Type.String({ minLength: 32 })]), default: null, rule: 'must be empty or at least 32 characters', doc: 'HMAC key of impression tokens, the same on every scoring replica; empty: a random one per process (tokens then verify only where they were issued, and not after a restart).', secret: true },
  { path: 'ads.tokenTtlMs', env: 'GIGINTEL_ADS_TOKEN_TTL_MS', schema: int(1_000, 7 * 86_400_000), default: 1_800_000, rule: 'must be an integer from 1000 to 604800000', doc: 'How long an impression token stays valid for its impression and click.' },
  { path: 'ads.frequencyCap', env: 'GIGINTEL_ADS_FREQUENCY_CAP', schema: Type.String({ pattern: '^[1-9][0-9]{0,5}/[1-9][0-9]{0,9}$' }), default: '3/86400000', rule: 'must be count/windowMs, e.g. 3/86400000', doc: 'Impressions of one campaign a user (or session) may see per window, unless the campaign\'s targeting sets its own frequencyCap.' },
  { path: 'ads.maxScoredCreatives', env: 'GIGINTEL_ADS_MAX_SCORED_CREATIVES', schema: int(1, 5_000), default: 50, rule: 'must be an integer from 1 to 5000', doc: 'Most eligible creatives scored by the CTR model per selection (the best by prior expected value).' },
  { path: 'ads.pacing.enabled', env: 'GIGINTEL_ADS_PACING', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'Spread daily budgets over the day by probabilistic throttling (LinkedIn, KDD 2014).' },
  { path: 'ads.pacing.slotMs', env: 'GIGINTEL_ADS_PACING_SLOT_MS', schema: int(60_000, 86_400_000), default: 900_000, rule: 'must be an integer from 60000 to 86400000 dividing a day', doc: 'Pacing slot: each campaign\'s pass-through rate is adjusted at every slot end.' },
  { path: 'ads.pacing.alpha', env: 'GIGINTEL_ADS_PACING_ALPHA', schema: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), default: 0.1, rule: 'must be a number between 0 and 1', doc: 'Step of the multiplicative pass-through adjustment.' },
  { path: 'ads.fraud.blockedIps', env: 'GIGINTEL_ADS_BLOCKED_IPS', schema: Type.Array(Type.String({ minLength: 1, maxLength: 64 })), default: [], rule: 'must be a comma-separated list of IPs or CIDR ranges', doc: 'Clicks from these addresses are flagged and never charged.' },
  { path: 'ads.fraud.blockedUserAgents', env: 'GIGINTEL_ADS_BLOCKED_USER_AGENTS', schema: Type.Array(Type.String({ minLength: 1, maxLength: 200 })), default: [], rule: 'must be a comma-separated list of user-agent substrings', doc: 'Clicks whose user agent contains one of these are flagged and never charged.' },
  { path: 'ads.fraud.minClickDelayMs', env: 'GIGINTEL_ADS_MIN_CLICK_DELAY_MS', schema: int(0, 600_000), default: 1_000, rule: 'must be an integer from 0 to 600000', doc: 'A click sooner than this after its impression is flagged as too fast (0 turns the rule off).' },
  { path: 'console.sessionSecret', env: 'GIGINTEL_CONSOLE_SESSION_SECRET', schema: Type.Union([Type.Null(), Type.String({ minLength: 32 })]), default: null, rule: 'must be empty or at least 32 characters', doc: 'HMAC key of the console\'s session cookies, the same on every API replica; empty: a random one per process (sessions then end when it restarts).', secret: true },
  { path: 'console.sessionTtlMs', env: 'GIGINTEL_CONSOLE_SESSION_TTL_MS', schema: int(60_000, 30 * 86_400_000), default: 8 * 3_600_000, rule: 'must be an integer from 60000 to 2592000000', doc: 'How long a console session cookie stays valid after sign-in.' },
  { path: 'features.docs', env: 'GIGINTEL_FEATURE_DOCS', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: 'Serve the OpenAPI document and Swagger UI at /docs.' },
  { path: 'features.demoSeed', env: 'GIGINTEL_FEATURE_DEMO_SEED', schema: Type.Boolean(), default: true, rule: 'must be true or false', doc: '`serve all` on an empty database first seeds a small synthetic demo marketplace (2,000 providers, 500 jobs, 30 days).' },
];

export interface Config {
  http: { host: string; port: number; bodyLimitBytes: number; trustProxy: boolean; shutdownTimeoutMs: number };
  database: { url: string; poolSize: number; connectTimeoutMs: number; autoMigrate: boolean };
  redis: { url: string | null; prefix: string };
  queue: { concurrency: number; attempts: number; backoffMs: number; lockDurationMs: number; pollIntervalMs: number };
  rateLimit: { enabled: boolean; max: number; windowMs: number };
  cors: { origins: string[] };
  security: { csp: string };
  metrics: { token: string | null };
  log: { level: (typeof LOG_LEVELS)[number]; pretty: boolean };
  auth: { adminKey: string | null; cacheTtlMs: number };
  readiness: { maxQueueDepth: number };
  ingest: { maxBatch: number };
  features: { docs: boolean; demoSeed: boolean; stream: boolean };
  console: { sessionSecret: string | null; sessionTtlMs: number };
  experiments: { analyzeSchedule: string; incrementalAnalysis: boolean };
  exports: { minGroupSize: number; pseudonymKey: string | null; fileTtlMs: number; schedules: string[] };
  ads: { tokenSecret: string | null; tokenTtlMs: number; frequencyCap: string; maxScoredCreatives: number; pacing: { enabled: boolean; slotMs: number; alpha: number }; fraud: { blockedIps: string[]; blockedUserAgents: string[]; minClickDelayMs: number } };
  scoring: { models: string[]; canary: string[]; shadow: string[]; pollMs: number; explainTopK: number; candidateLimit: number; logPredictions: boolean; entityCacheMs: number; auditSchedule: string };
  data: { dir: string };
  pipeline: { schedule: string; chunkSize: number };
  registry: {
    gate: { aucMargin: number; minDisparateImpact: number; maxEqualOpportunityDifference: number };
    gatedAliases: string[];
    webhooks: { urls: string[]; secret: string | null; timeoutMs: number };
  };
}
