// The marketplace data contract: source tables for people and offers, outcomes, ads and finance,
// plus event receipts for idempotent ingestion. Ids are the marketplace's own (natural keys);
// times are BIGINT UTC milliseconds; money is BIGINT minor units plus an ISO 4217 code.
// Every event-like row has an event time (`event_at`) and an ingestion time (`ingested_at`).
// Frozen once landed: change the schema in a new migration.
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;
type Table = CreateTableBuilder<string, string>;

const id = (t: Table): Table => t.addColumn('id', 'varchar(64)', (c) => c.primaryKey());
const ref = (table: string) => (c: ColumnDefinitionBuilder) => c.references(`${table}.id`).onDelete('cascade');
const times = (t: Table): Table => t
  .addColumn('event_at', 'bigint', (c) => c.notNull())
  .addColumn('ingested_at', 'bigint', (c) => c.notNull());

export async function up(db: Db): Promise<void> {
  const s = db.schema;

  // --- people and offers ------------------------------------------------------------------------
  await s.createTable('category').$call(id)
    .addColumn('slug', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('parent_id', 'varchar(64)', (c) => c.references('category.id'))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('skill').$call(id)
    .addColumn('slug', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('category_id', 'varchar(64)', (c) => c.references('category.id'))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('qualification').$call(id)
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('issuer', 'varchar(200)')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('seo_tag').$call(id)
    .addColumn('slug', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('client').$call(id)
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('country', 'char(2)', (c) => c.notNull())
    .addColumn('timezone', 'varchar(64)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('provider').$call(id)
    .addColumn('headline', 'varchar(300)', (c) => c.notNull())
    .addColumn('hourly_rate_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('country', 'char(2)', (c) => c.notNull())
    .addColumn('timezone', 'varchar(64)', (c) => c.notNull())
    .addColumn('level', 'varchar(16)', (c) => c.notNull())
    .addColumn('rating', 'double precision')
    .addColumn('review_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('response_rate', 'double precision')
    .addColumn('completed_jobs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addColumn('last_active_at', 'bigint')
    // Event time of the newest profile data applied: an older profile_update never overwrites it.
    .addColumn('profile_event_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('provider_skill')
    .addColumn('provider_id', 'varchar(64)', (c) => c.notNull().references('provider.id').onDelete('cascade'))
    .addColumn('skill_id', 'varchar(64)', (c) => c.notNull().references('skill.id'))
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('years', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('provider_skill_pk', ['provider_id', 'skill_id'])
    .execute();
  await s.createTable('provider_qualification')
    .addColumn('provider_id', 'varchar(64)', (c) => c.notNull().references('provider.id').onDelete('cascade'))
    .addColumn('qualification_id', 'varchar(64)', (c) => c.notNull().references('qualification.id'))
    .addColumn('obtained_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('provider_qualification_pk', ['provider_id', 'qualification_id'])
    .execute();
  await s.createTable('job').$call(id)
    .addColumn('client_id', 'varchar(64)', ref('client'))
    .addColumn('category_id', 'varchar(64)', (c) => c.references('category.id'))
    .addColumn('kind', 'varchar(8)', (c) => c.notNull())
    .addColumn('title', 'varchar(300)', (c) => c.notNull())
    .addColumn('budget_min_minor', 'bigint')
    .addColumn('budget_max_minor', 'bigint')
    .addColumn('fixed_price_minor', 'bigint')
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('posted_at', 'bigint', (c) => c.notNull())
    .addColumn('closes_at', 'bigint')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createIndex('job_client').on('job').column('client_id').execute();
  await s.createTable('job_skill')
    .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('job.id').onDelete('cascade'))
    .addColumn('skill_id', 'varchar(64)', (c) => c.notNull().references('skill.id'))
    .addColumn('required', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_skill_pk', ['job_id', 'skill_id'])
    .execute();
  await s.createTable('job_qualification')
    .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('job.id').onDelete('cascade'))
    .addColumn('qualification_id', 'varchar(64)', (c) => c.notNull().references('qualification.id'))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_qualification_pk', ['job_id', 'qualification_id'])
    .execute();
  await s.createTable('job_tag')
    .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('job.id').onDelete('cascade'))
    .addColumn('tag_id', 'varchar(64)', (c) => c.notNull().references('seo_tag.id'))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_tag_pk', ['job_id', 'tag_id'])
    .execute();
  // The networking graph between users (clients or providers), stored once per pair: user_a < user_b.
  await s.createTable('connection')
    .addColumn('user_a', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_b', 'varchar(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('connected_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('connection_pk', ['user_a', 'user_b'])
    .execute();
  await s.createIndex('connection_b').on('connection').column('user_b').execute();
  // Sensitive attributes for fairness audits only: never joined into features.
  await s.createTable('sensitive_attribute')
    .addColumn('subject_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('attribute', 'varchar(64)', (c) => c.notNull())
    .addColumn('value', 'varchar(100)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('sensitive_attribute_pk', ['subject_id', 'attribute'])
    .execute();

  // --- outcomes ---------------------------------------------------------------------------------
  await s.createTable('proposal').$call(id)
    .addColumn('provider_id', 'varchar(64)', (c) => c.notNull().references('provider.id'))
    .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('job.id'))
    .addColumn('price_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .$call(times).execute();
  await s.createIndex('proposal_job').on('proposal').columns(['job_id', 'event_at']).execute();
  await s.createIndex('proposal_provider').on('proposal').columns(['provider_id', 'event_at']).execute();
  await s.createTable('hire').$call(id)
    .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('job.id'))
    .addColumn('provider_id', 'varchar(64)', (c) => c.notNull().references('provider.id'))
    .addColumn('proposal_id', 'varchar(64)', (c) => c.references('proposal.id'))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .$call(times).execute();
  await s.createIndex('hire_job').on('hire').column('job_id').execute();
  await s.createIndex('hire_provider').on('hire').columns(['provider_id', 'event_at']).execute();
  await s.createTable('completion').$call(id)
    .addColumn('hire_id', 'varchar(64)', (c) => c.notNull().references('hire.id'))
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('rating', 'double precision')
    .$call(times).execute();
  await s.createIndex('completion_hire').on('completion').column('hire_id').execute();

  // --- ads --------------------------------------------------------------------------------------
  await s.createTable('advertiser').$call(id)
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('client_id', 'varchar(64)', (c) => c.references('client.id'))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('campaign').$call(id)
    .addColumn('advertiser_id', 'varchar(64)', (c) => c.notNull().references('advertiser.id'))
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('bid_type', 'varchar(8)', (c) => c.notNull())
    .addColumn('bid_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('daily_budget_minor', 'bigint')
    .addColumn('lifetime_budget_minor', 'bigint')
    .addColumn('starts_at', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint')
    .addColumn('targeting', 'text')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('creative').$call(id)
    .addColumn('campaign_id', 'varchar(64)', (c) => c.notNull().references('campaign.id'))
    .addColumn('title', 'varchar(300)', (c) => c.notNull())
    .addColumn('url', 'varchar(2000)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createTable('placement').$call(id)
    .addColumn('slot', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  for (const table of ['impression', 'click'] as const) {
    let t: Table = s.createTable(table).$call(id);
    if (table === 'click') t = t.addColumn('impression_id', 'varchar(64)');
    await t
      .addColumn('campaign_id', 'varchar(64)', (c) => c.notNull().references('campaign.id'))
      .addColumn('creative_id', 'varchar(64)', (c) => c.notNull().references('creative.id'))
      .addColumn('placement_id', 'varchar(64)', (c) => c.notNull().references('placement.id'))
      .addColumn('user_id', 'varchar(64)')
      .addColumn('ip', 'varchar(45)')
      .addColumn('device', 'varchar(32)')
      // Set only by the synthetic marketplace: ground truth for evaluating fraud detection.
      .addColumn('fraud_label', 'integer')
      .$call(times).execute();
    await s.createIndex(`${table}_campaign`).on(table).columns(['campaign_id', 'event_at']).execute();
    await s.createIndex(`${table}_ip`).on(table).columns(['ip', 'event_at']).execute();
  }
  await s.createTable('conversion').$call(id)
    .addColumn('click_id', 'varchar(64)')
    .addColumn('campaign_id', 'varchar(64)', (c) => c.notNull().references('campaign.id'))
    .addColumn('value_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .$call(times).execute();
  await s.createIndex('conversion_campaign').on('conversion').columns(['campaign_id', 'event_at']).execute();

  // --- finance ----------------------------------------------------------------------------------
  await s.createTable('transaction').$call(id)
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('idempotency_key', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('job_id', 'varchar(64)', (c) => c.references('job.id'))
    .addColumn('hire_id', 'varchar(64)', (c) => c.references('hire.id'))
    .addColumn('campaign_id', 'varchar(64)', (c) => c.references('campaign.id'))
    .$call(times).execute();
  await s.createIndex('transaction_time').on('transaction').columns(['event_at']).execute();
  await s.createIndex('transaction_user').on('transaction').columns(['user_id', 'event_at']).execute();

  // --- ingestion --------------------------------------------------------------------------------
  // One row per accepted event id: the processor claims ids here in the same transaction that
  // persists them, so a job that runs twice (at-least-once delivery) writes nothing twice.
  await s.createTable('event_receipt')
    .addColumn('event_id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .addColumn('ingested_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Db): Promise<void> {
  for (const t of ['event_receipt', 'transaction', 'conversion', 'click', 'impression', 'placement', 'creative', 'campaign',
    'advertiser', 'completion', 'hire', 'proposal', 'sensitive_attribute', 'connection', 'job_tag', 'job_qualification',
    'job_skill', 'job', 'provider_qualification', 'provider_skill', 'provider', 'client', 'seo_tag', 'qualification', 'skill', 'category']) {
    await db.schema.dropTable(t).execute();
  }
}
