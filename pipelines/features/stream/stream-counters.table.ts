// Kysely interfaces of the stream counter tables (migrations/20261125T2110_feature_stream.ts).
export interface FeatureStreamEntityTable { entity_kind: string; entity_key: string; latest_at: number }
export interface FeatureStreamCounterTable { entity_kind: string; entity_key: string; field: string; bucket: number; n: number; expires_at: number }
export interface FeatureStreamClickTable { entity_kind: string; entity_key: string; event_id: string; event_at: number }
export interface FeatureStreamReceiptTable { event_id: string; seen_at: number }

declare module '../../../platform/db/database.js' {
  interface Database {
    feature_stream_entity: FeatureStreamEntityTable;
    feature_stream_counter: FeatureStreamCounterTable;
    feature_stream_click: FeatureStreamClickTable;
    feature_stream_receipt: FeatureStreamReceiptTable;
  }
}
