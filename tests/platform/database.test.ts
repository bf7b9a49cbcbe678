// Database start-up checks: MySQL must store and talk utf8mb4.
import { sql } from 'kysely';
import { createPool } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCharset, createDatabase } from '../../platform/db/database.js';
import { dropMysqlDatabase, MYSQL_SERVER_URL, uniqueName } from '../helpers/test-env.js';

describe('MySQL character set check', () => {
  const name = uniqueName('gi_latin1');
  afterAll(async () => { await dropMysqlDatabase(name); });

  it('refuses a database that is not utf8mb4, saying how to fix it', async () => {
    const admin = createPool({ uri: MYSQL_SERVER_URL, connectionLimit: 1 });
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET latin1`);
    await admin.end();
    const handle = createDatabase({ url: `${MYSQL_SERVER_URL}/${name}` });
    try {
      await expect(checkCharset(handle)).rejects.toThrow(/must use utf8mb4 \(database: latin1.*ALTER DATABASE <name> CHARACTER SET utf8mb4/);
    } finally {
      await handle.close();
    }
  });

  it('accepts a utf8mb4 database and round-trips text outside the BMP', async () => {
    const handle = createDatabase({ url: `${MYSQL_SERVER_URL}/${name}` });
    try {
      await sql.raw(`ALTER DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`).execute(handle.db);
      await expect(checkCharset(handle)).resolves.toBeUndefined();
      await sql`create table note (body varchar(100) not null)`.execute(handle.db);
      const text = 'Grüße 🚀 東京 — ok';
      await sql`insert into note (body) values (${text})`.execute(handle.db);
      const { rows } = await sql<{ body: string }>`select body from note`.execute(handle.db);
      expect(rows[0]?.body).toBe(text);
    } finally {
      await handle.close();
    }
  });
});
