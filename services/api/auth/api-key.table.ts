export interface ApiKeyTable {
  id: string;
  name: string;
  /** sha256 of the whole key; the key itself is never stored. */
  key_hash: string;
  /** The first characters of the key, so people can tell their keys apart. */
  key_prefix: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

declare module '../../../platform/db/database.js' {
  interface Database { api_key: ApiKeyTable }
}
