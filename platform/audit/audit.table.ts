import type { Generated } from 'kysely';

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor_type: string;
  actor_id: string;
  action: string;
  object_type: string;
  object_id: string;
  details: string | null;
  request_id: string | null;
}

declare module '../db/database.js' {
  interface Database { audit_log: AuditLogTable }
}
