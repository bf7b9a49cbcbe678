// What every command needs: the validated config (from --config and GIGINTEL_*), and for the
// commands that touch data, the platform and services, closed again when the command ends.
import type { Command } from 'commander';
import type { Config } from '../../platform/config/config.settings.js';
import { loadConfig } from '../../platform/config/load-config.js';
import type { Platform, PlatformOptions } from '../../platform/platform.js';
import type { AppServices } from '../api/app-services.js';

export function configFrom(cmd: Command, overrides: Record<string, unknown> = {}): Readonly<Config> {
  const { config: file } = cmd.optsWithGlobals<{ config?: string }>();
  return loadConfig({ ...(file ? { file } : {}), overrides });
}

/** Run `fn` with a platform built for a one-shot command, always closing it afterwards. */
export async function withPlatform<T>(
  config: Readonly<Config>, opts: PlatformOptions, fn: (p: Platform, s: AppServices) => Promise<T>,
): Promise<T> {
  // Loaded here, not at the top: `--help` and `config` should not pay for drivers and Fastify.
  const { createPlatform } = await import('../../platform/platform.js');
  const { createAppServices } = await import('../api/app-services.js');
  const platform = await createPlatform({ ...config, log: { ...config.log, level: config.log.level === 'info' ? 'warn' : config.log.level } }, opts);
  try {
    return await fn(platform, createAppServices(config, platform));
  } finally {
    await platform.lifecycle.stop();
  }
}
