// Config: defaults, environment parsing, and rejection messages that name the variable and rule.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../platform/config/config.settings.js';
import { loadConfig, redactedConfig } from '../../platform/config/load-config.js';
import { ConfigError } from '../../platform/errors/app-error.js';

function rejection(env: Record<string, string>, file?: string): string {
  try {
    loadConfig({ env, ...(file ? { file } : {}) });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('config', () => {
  it('gives every setting its default with no environment', () => {
    const c = loadConfig({ env: {} });
    expect(c.http.port).toBe(8080);
    expect(c.database.url).toBe('sqlite:./data/gigintel.db');
    expect(c.redis.url).toBeNull();
    expect(c.log.level).toBe('info');
  });

  it('reads and converts GIGINTEL_* variables', () => {
    const c = loadConfig({ env: {
      GIGINTEL_HOST: '0.0.0.0', GIGINTEL_PORT: '9090', GIGINTEL_DATABASE_URL: 'mysql://u:p@db:3306/gi',
      GIGINTEL_REDIS_URL: 'redis://cache:6379', GIGINTEL_LOG_LEVEL: 'debug', GIGINTEL_RATE_LIMIT_ENABLED: 'no',
      GIGINTEL_CORS_ORIGINS: 'https://a.example.com, https://b.example.com', GIGINTEL_METRICS_TOKEN: 'x'.repeat(20),
      GIGINTEL_ADMIN_KEY: 'k'.repeat(30),
    } });
    expect(c.http).toMatchObject({ host: '0.0.0.0', port: 9090 });
    expect(c.database.url).toBe('mysql://u:p@db:3306/gi');
    expect(c.redis.url).toBe('redis://cache:6379');
    expect(c.rateLimit.enabled).toBe(false);
    expect(c.cors.origins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(c.auth.adminKey).toBe('k'.repeat(30));
  });

  it('names the variable and the rule it breaks', () => {
    expect(rejection({ GIGINTEL_PORT: 'eighty' })).toContain('GIGINTEL_PORT: must be an integer from 0 to 65535 (got "eighty")');
    expect(rejection({ GIGINTEL_PORT: '70000' })).toContain('GIGINTEL_PORT: must be an integer from 0 to 65535');
    expect(rejection({ GIGINTEL_DATABASE_URL: 'postgres://x' })).toContain('GIGINTEL_DATABASE_URL: must start with sqlite:, mysql:// or mariadb://');
    expect(rejection({ GIGINTEL_LOG_LEVEL: 'loud' })).toContain('GIGINTEL_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent');
    expect(rejection({ GIGINTEL_RATE_LIMIT_ENABLED: 'maybe' })).toContain('GIGINTEL_RATE_LIMIT_ENABLED: must be true or false');
    expect(rejection({ GIGINTEL_METRICS_TOKEN: 'short' })).toContain('GIGINTEL_METRICS_TOKEN: must be empty or at least 16 characters');
    expect(rejection({ GIGINTEL_CORS_ORIGINS: 'not a url' })).toContain('GIGINTEL_CORS_ORIGINS: must be a comma-separated list of origins');
  });

  it('reports every problem at once, and catches misspelt variables', () => {
    const msg = rejection({ GIGINTEL_PORT: '-1', GIGINTEL_REDIS_URL: 'http://x', GIGINTEL_LOG_LEVL: 'info' });
    expect(msg).toContain('GIGINTEL_PORT');
    expect(msg).toContain('GIGINTEL_REDIS_URL: must be empty or start with redis://');
    expect(msg).toContain('GIGINTEL_LOG_LEVL: unknown setting; did you mean GIGINTEL_LOG_LEVEL?');
  });

  it('reads a JSON file under the environment, and rejects unknown keys in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gi-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ http: { port: 9000, host: '0.0.0.0' }, queue: { attempts: 7 } }));
    const c = loadConfig({ env: { GIGINTEL_PORT: '9001' }, file: good });
    expect(c.http.port).toBe(9001); // the environment wins
    expect(c.http.host).toBe('0.0.0.0');
    expect(c.queue.attempts).toBe(7);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ http: { prot: 1 }, queue: { attempts: 'many' } }));
    const msg = rejection({}, bad);
    expect(msg).toContain('http.prot: unknown setting');
    expect(msg).toContain('GIGINTEL_QUEUE_ATTEMPTS: must be an integer from 1 to 100 (got "many")');
    writeFileSync(bad, '{ not json');
    expect(rejection({}, bad)).toContain('cannot be read as JSON');
  });

  it('is frozen', () => {
    const c = loadConfig({ env: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(() => { (c.http as { port: number }).port = 1; }).toThrow(TypeError);
  });

  it('redacts secrets and URL passwords when printed', () => {
    const c = loadConfig({ env: { GIGINTEL_DATABASE_URL: 'mysql://app:s3cret@db:3306/gi', GIGINTEL_METRICS_TOKEN: 'm'.repeat(20), GIGINTEL_ADMIN_KEY: 'a'.repeat(30) } });
    const shown = JSON.stringify(redactedConfig(c));
    expect(shown).not.toContain('s3cret');
    expect(shown).not.toContain('m'.repeat(20));
    expect(shown).not.toContain('a'.repeat(30));
    expect(shown).toContain('mysql://app:***@db:3306/gi');
  });

  it('is documented: the README configuration table lists every variable', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = SETTINGS.filter((s) => !readme.includes(`\`${s.env}\``)).map((s) => s.env);
    expect(missing).toEqual([]);
  });
});
