// The options both writers take, and the content types the routes send them with.

export interface WriteOptions {
  /** Report title for the XLSX Summary sheet. */
  title: string;
  /** Parameters as shown to the user. */
  params: ReadonlyArray<{ name: string; value: string }>;
  /** Extra Summary lines (e.g. "3 groups suppressed: fewer than 10 units"). */
  notes?: readonly string[];
  /** CSV only: a UTF-8 byte order mark, so Excel reads the file as UTF-8. */
  bom?: boolean;
  /** Aborting stops reading rows (iterator.return()) and rejects with the reason. */
  signal?: AbortSignal;
  /** XLSX Summary's "Generated at" (UTC ms); defaults to now. */
  generatedAt?: number;
  /** Called with the rows written so far, at most every ~1,000 rows, and once at the end. */
  onProgress?: (rowsWritten: number) => void;
}

export const CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;
