// The scoring service's view of config `scoring.*`: which alias of each model serves, the canary
// and shadow routes, and the limits. Checked once at start: a canary or shadow for a model the
// service does not serve is a configuration error naming the setting.
import type { Config } from '../../platform/config/config.settings.js';
import { ConfigError } from '../../platform/errors/app-error.js';
import type { ServedAlias } from './model-store.js';

export interface ScoringSettings {
  /** The serving alias per model (default champion). */
  serve: ServedAlias[];
  canary: Map<string, { alias: string; share: number }>;
  shadow: Map<string, string>;
  pollMs: number;
  explainTopK: number;
  candidateLimit: number;
  logPredictions: boolean;
}

export const DEFAULT_SERVING_ALIAS = 'champion';

export function scoringSettingsFrom(config: Readonly<Config>): ScoringSettings {
  const s = config.scoring;
  const serve = s.models.map((m) => {
    const [model, alias] = m.split('@') as [string, string | undefined];
    return { model, alias: alias ?? DEFAULT_SERVING_ALIAS };
  });
  const served = new Set(serve.map((m) => m.model));
  const problems: { path: string; message: string }[] = [];
  if (served.size !== serve.length) problems.push({ path: 'scoring.models', message: 'names a model twice' });
  const canary = new Map<string, { alias: string; share: number }>();
  for (const c of s.canary) {
    const [model, rest] = c.split('=') as [string, string];
    const [alias, share] = rest.split(':') as [string, string];
    if (!served.has(model)) problems.push({ path: 'scoring.canary', message: `${model} is not in scoring.models` });
    canary.set(model, { alias, share: Number(share) });
  }
  const shadow = new Map<string, string>();
  for (const c of s.shadow) {
    const [model, alias] = c.split('=') as [string, string];
    if (!served.has(model)) problems.push({ path: 'scoring.shadow', message: `${model} is not in scoring.models` });
    shadow.set(model, alias);
  }
  if (problems.length) throw new ConfigError(problems);
  return { serve, canary, shadow, pollMs: s.pollMs, explainTopK: s.explainTopK, candidateLimit: s.candidateLimit, logPredictions: s.logPredictions };
}

/** Every alias the store loads: serving, canary and shadow. */
export function loadedAliases(s: ScoringSettings): ServedAlias[] {
  return [
    ...s.serve,
    ...[...s.canary].map(([model, c]) => ({ model, alias: c.alias })),
    ...[...s.shadow].map(([model, alias]) => ({ model, alias })),
  ];
}
