// Reads the configuration once: defaults, then an optional JSON file, then GIGINTEL_* variables.
// Every value is checked against its setting's schema; any problem stops the start with a message
// naming the variable (or file key) and the rule it breaks. The result is deeply frozen.
import { readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { ConfigError, type FieldProblem } from '../errors/app-error.js';
import { SETTINGS, type Config, type SettingSpec } from './config.settings.js';

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  /** A JSON file whose nested keys follow the setting paths, e.g. { "http": { "port": 9000 } }. */
  file?: string;
  /** Values that win over everything (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadConfigOptions = {}): Readonly<Config> {
  const env = opts.env ?? process.env;
  const problems: FieldProblem[] = [];
  const values = new Map<string, unknown>(SETTINGS.map((s) => [s.path, s.default]));

  const file = opts.file ?? env.GIGINTEL_CONFIG_FILE;
  if (file) readFileInto(file, values, problems);

  const known = new Set(SETTINGS.map((s) => s.env).concat('GIGINTEL_CONFIG_FILE'));
  for (const name of Object.keys(env)) {
    if (name.startsWith('GIGINTEL_') && !known.has(name)) {
      problems.push({ path: name, message: `unknown setting${suggest(name)}` });
    }
  }
  for (const spec of SETTINGS) {
    const raw = env[spec.env];
    if (raw === undefined) continue;
    const parsed = parseEnv(spec, raw);
    if (parsed.ok) values.set(spec.path, parsed.value);
    else problems.push({ path: spec.env, message: `${spec.rule} (got ${JSON.stringify(raw)})` });
  }
  for (const [path, value] of Object.entries(opts.overrides ?? {})) {
    if (!values.has(path)) problems.push({ path, message: 'unknown setting' });
    else values.set(path, value);
  }
  for (const spec of SETTINGS) {
    const value = values.get(spec.path);
    if (!Value.Check(spec.schema, value) && !problems.some((p) => p.path === spec.env)) {
      problems.push({ path: spec.env, message: `${spec.rule} (got ${JSON.stringify(value)})` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config: Record<string, unknown> = {};
  for (const [path, value] of values) setPath(config, path, value);
  return deepFreeze(config) as unknown as Config;
}

/** The effective configuration with secrets shown as "***" (and credentials cut out of URLs). */
export function redactedConfig(config: Readonly<Config>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const value = getPath(config, spec.path);
    setPath(out, spec.path, spec.secret && value !== null ? redact(value) : value);
  }
  return out;
}

export function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

function redact(value: unknown): string {
  if (typeof value === 'string' && /^[a-z]+:\/\//.test(value)) {
    try {
      const u = new URL(value);
      if (u.password) u.password = '***';
      return u.toString();
    } catch { /* fall through: not a parseable URL */ }
  }
  if (typeof value === 'string' && value.startsWith('sqlite:')) return value;
  return '***';
}

function parseEnv(spec: SettingSpec, raw: string): { ok: true; value: unknown } | { ok: false } {
  const s = raw.trim();
  const kind = schemaKind(spec.schema);
  const nullable = JSON.stringify(spec.schema).includes('"type":"null"');
  if (nullable && s === '') return { ok: true, value: null };
  switch (kind) {
    case 'integer':
      return /^-?\d+$/.test(s) ? { ok: true, value: Number(s) } : { ok: false };
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(s)) return { ok: true, value: true };
      if (/^(false|0|no|off)$/i.test(s)) return { ok: true, value: false };
      return { ok: false };
    case 'array':
      return { ok: true, value: s === '' ? [] : s.split(',').map((x) => x.trim()).filter(Boolean) };
    default:
      return { ok: true, value: s };
  }
}

function schemaKind(schema: TSchemaLike): string {
  if (typeof schema.type === 'string') return schema.type;
  const branch = (schema.anyOf ?? []).find((b) => b.type !== 'null');
  return branch ? schemaKind(branch) : 'string';
}
interface TSchemaLike { type?: unknown; anyOf?: TSchemaLike[] }

function readFileInto(file: string, values: Map<string, unknown>, problems: FieldProblem[]): void {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push({ path: `config file ${file}`, message: `cannot be read as JSON: ${(err as Error).message}` });
    return;
  }
  const walk = (node: unknown, prefix: string) => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      if (values.has(prefix)) values.set(prefix, node);
      else problems.push({ path: `config file ${file}: ${prefix || '(root)'}`, message: 'unknown setting' });
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (values.has(path)) values.set(path, v);
      else walk(v, path);
    }
  };
  walk(data, '');
}

function suggest(name: string): string {
  const close = SETTINGS.map((s) => s.env).filter((e) => distance(e, name) <= 3);
  return close.length ? `; did you mean ${close.join(' or ')}?` : '';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = obj;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
