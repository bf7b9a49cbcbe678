// The exports part of the config, checked and shaped once at start.
import { join } from 'node:path';
import type { Config } from '../platform/config/config.settings.js';
import { ConfigError } from '../platform/errors/app-error.js';
import { parseExportSchedule, type ExportSchedule, type ExportSettings } from './exports.service.js';

export function exportSettingsFrom(config: Readonly<Config>): ExportSettings {
  const schedules: ExportSchedule[] = [];
  const names = new Set<string>();
  for (const spec of config.exports.schedules) {
    const s = parseExportSchedule(spec);
    if (typeof s === 'string') throw new ConfigError([{ path: 'exports.schedules', message: `${s} (got ${JSON.stringify(spec)})` }]);
    if (names.has(s.name)) throw new ConfigError([{ path: 'exports.schedules', message: `names ${s.name} twice` }]);
    names.add(s.name);
    schedules.push(s);
  }
  return {
    dir: join(config.data.dir, 'exports'),
    minGroupSize: config.exports.minGroupSize,
    fileTtlMs: config.exports.fileTtlMs,
    pseudonymKey: config.exports.pseudonymKey,
    schedules,
  };
}
