// Versions to register in the registry tests: a deterministic artifact, lineage that matches the
// feature set catalog (what the online store serves), and metrics/fairness set per test.
import { createHash } from 'node:crypto';
import { catalogFeatureSets } from '../../model-registry/registry.service.js';
import type { VersionSpec } from '../../model-registry/registry.schemas.js';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Bytes from a seeded linear congruential generator: the same artifact on every run. */
export function artifactBytes(seed: number, length = 4096): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; out[i] = x >>> 24; }
  return out;
}

export function artifactOf(seed: number) {
  const bytes = artifactBytes(seed);
  return { bytes, sha256: sha256(bytes), format: 'test-logistic/1' };
}

export async function servedSets() {
  const all = await catalogFeatureSets();
  return all.filter((s) => s.name === 'provider_profile' || s.name === 'job_profile');
}

export async function specOf(o: { auc?: number; di?: number | null; eo?: number; fairness?: VersionSpec['fairness']; badHash?: boolean; importance?: Record<string, number> } = {}): Promise<VersionSpec> {
  const sets = await servedSets();
  return {
    algorithm: 'logistic',
    hyperparameters: { l2: 1, maxIter: 50 },
    featureSets: sets.map((s, i) => ({ name: s.name, version: s.version, schemaHash: o.badHash && i === 0 ? 'f'.repeat(64) : s.schemaHash })),
    dataset: { id: 'matching-20261101', contentHash: 'a'.repeat(64) },
    codeVersion: 'git:0123456789abcdef0123456789abcdef01234567',
    metrics: { auc: o.auc ?? 0.8, logLoss: 0.45, ece: 0.02, precisionAt10: 0.3 },
    calibration: { ece: 0.02, bins: [{ lower: 0, upper: 0.5, count: 60, meanPredicted: 0.2, fractionPositive: 0.21 }, { lower: 0.5, upper: 1, count: 40, meanPredicted: 0.7, fractionPositive: 0.68 }] },
    fairness: o.fairness !== undefined ? o.fairness : {
      gender: { demographicParityDifference: 0.05, disparateImpactRatio: o.di === undefined ? 0.9 : o.di, equalOpportunityDifference: o.eo ?? 0.04, equalizedOddsDifference: 0.05 },
      region: { demographicParityDifference: 0.02, disparateImpactRatio: 0.95, equalOpportunityDifference: 0.03, equalizedOddsDifference: 0.03 },
    },
    importance: o.importance ?? { 'provider_profile__rating': 0.5, 'job_profile__budget': 0.3, 'provider_profile__hires': 0.1 },
  };
}
