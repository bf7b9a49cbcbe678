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

describe('MySQL connections that die', () => {
  it('fails a streamed query on a lost connection instead of hanging, then connects afresh', async () => {
    const { createTcpProxy } = await import('../helpers/tcp-proxy.js');
    const target = new URL(MYSQL_SERVER_URL);
    const proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port || 3306) });
    const h = createDatabase({ url: `mysql://root@127.0.0.1:${proxy.port}/mysql` });
    try {
      await sql`SELECT 1`.execute(h.db); // a pooled, idle connection
      await proxy.stop();
      const stream = async () => {
        const rows: unknown[] = [];
        for await (const r of h.db.selectNoFrom(sql<number>`1`.as('n')).stream()) rows.push(r);
        return rows;
      };
      const outcome = await Promise.race([stream().then(() => 'resolved', (e: { code?: string }) => e.code ?? 'error'), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
      expect(['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']).toContain(outcome);
      await proxy.start();
      const again = await h.db.selectNoFrom(sql<number>`1`.as('n')).execute();
      expect(again).toEqual([{ n: 1 }]);
    } finally {
      await h.close();
      await proxy.close();
    }
  });
});
