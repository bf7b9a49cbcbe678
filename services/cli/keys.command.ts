import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { SCOPES } from '../api/auth/scopes.js';
import { configFrom, withPlatform } from './cli-context.js';

const CLI_ACTOR = { type: 'cli' as const, id: userInfo().username };

function duration(v: string): number {
  const m = /^(\d+)([dhm])$/.exec(v);
  if (!m) throw new InvalidArgumentError('use a number with d, h or m, e.g. 90d');
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

export function keysCommand(): Command {
  const cmd = new Command('keys').description('create, list and revoke API keys');
  cmd.command('create').description('create an API key; the key is printed once and stored only as a hash')
    .requiredOption('--name <name>', 'who or what the key is for')
    .requiredOption('--scopes <list>', `comma-separated scopes: ${SCOPES.join(', ')}`)
    .option('--expires-in <duration>', 'lifetime, e.g. 90d, 12h', duration)
    .option('--json', 'print JSON')
    .action(async function (this: Command, o: { name: string; scopes: string; expiresIn?: number; json?: boolean }) {
      await withPlatform(configFrom(this), {}, async (_p, { apiKeys }) => {
        const scopes = o.scopes.split(',').map((s) => s.trim()).filter(Boolean);
        const { key, apiKey } = await apiKeys.create({ name: o.name, scopes, expiresAt: o.expiresIn ? Date.now() + o.expiresIn : null }, CLI_ACTOR);
        if (o.json) process.stdout.write(`${JSON.stringify({ key, apiKey }, null, 2)}\n`);
        else process.stdout.write(`${key}\n\nid ${apiKey.id}, scopes ${apiKey.scopes.join(',')}. Store the key now: it is not shown again.\n`);
      });
    });
  cmd.command('list').description('list API keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action(async function (this: Command, o: { all?: boolean; json?: boolean }) {
      await withPlatform(configFrom(this), {}, async (_p, { apiKeys }) => {
        const keys = await apiKeys.list(o.all ?? false);
        if (o.json) return void process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
        for (const k of keys) {
          process.stdout.write(`${k.id}  ${k.prefix}…  ${k.revokedAt ? 'REVOKED ' : ''}${k.name}  [${k.scopes.join(',')}]\n`);
        }
      });
    });
  cmd.command('revoke').description('revoke an API key by id (see keys list)')
    .argument('<id>', 'key id, e.g. key_0123456789ab')
    .action(async function (this: Command, id: string) {
      await withPlatform(configFrom(this), {}, async (_p, { apiKeys }) => {
        const k = await apiKeys.revoke(id, CLI_ACTOR);
        process.stdout.write(`revoked ${k.id} (${k.name})\n`);
      });
    });
  return cmd;
}
