// The registry's settings as plain deps: read from config `registry.*` once the lead adds those
// settings (see README.md), else the documented defaults. The service itself never reads config.
import type { Config } from '../platform/config/config.settings.js';
import { DEFAULT_GATE_THRESHOLDS, type GateThresholds } from './gates.js';
import type { WebhookSettings } from './webhooks/webhook-delivery.job.js';

export interface RegistrySettings {
  gates: GateThresholds;
  gatedAliases: string[];
  webhooks: WebhookSettings;
}

interface RegistryConfig {
  gate?: Partial<GateThresholds>;
  gatedAliases?: string[];
  webhooks?: { urls?: string[]; secret?: string | null; timeoutMs?: number };
}

export function registrySettingsFrom(config: Readonly<Config>): RegistrySettings {
  const r = (config as Readonly<Config> & { registry?: RegistryConfig }).registry ?? {};
  return {
    gates: { ...DEFAULT_GATE_THRESHOLDS, ...r.gate },
    gatedAliases: r.gatedAliases ?? ['champion'],
    webhooks: { urls: r.webhooks?.urls ?? [], secret: r.webhooks?.secret ?? null, ...(r.webhooks?.timeoutMs ? { timeoutMs: r.webhooks.timeoutMs } : {}) },
  };
}
