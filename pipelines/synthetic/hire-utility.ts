// The hidden ground truth the synthetic marketplace plants: what makes a client hire a proposal,
// and how likely an ad impression is to be clicked. Exported so tests and model evaluations can
// recompute them from the stored rows.
import { hashNormal, logit, sigmoid } from './random.js';

export interface HireFeatures {
  /** Share of the job's required skills the provider has, 0..1. */
  skillCoverage: number;
  /** Rate-versus-budget fit, exp(-(ln(price / budget target))² / 2·0.5²), 0..1. */
  priceFit: number;
  /** Provider rating (null when unrated). */
  rating: number | null;
  /** 1 when connected to the client, 0.5 when connected to a provider the client hired for an earlier job, else 0. */
  proximity: number;
  /** Share of the job's required qualifications the provider holds, 0..1 (0 when the job requires none). */
  qualificationMatch: number;
}

export const HIRE_WEIGHTS = { skillCoverage: 2.0, priceFit: 1.2, rating: 0.6, proximity: 0.8, qualificationMatch: 0.5 } as const;
/** Noise added to each proposal's utility, and the softmax temperature of the client's choice. */
export const HIRE_NOISE_SD = 0.25;
export const HIRE_TEMPERATURE = 0.25;
/** The group the bias knob penalises (sensitive_attribute gender = this value). */
export const PENALISED_GENDER = 'f';

/** The utility of a proposal, without noise and without the bias penalty. */
export function hireUtility(f: HireFeatures): number {
  const rating = f.rating === null ? 0 : f.rating - 4.5;
  return HIRE_WEIGHTS.skillCoverage * f.skillCoverage + HIRE_WEIGHTS.priceFit * f.priceFit
    + HIRE_WEIGHTS.rating * rating + HIRE_WEIGHTS.proximity * f.proximity + HIRE_WEIGHTS.qualificationMatch * f.qualificationMatch;
}

export function skillCoverage(required: readonly string[], providerSkills: ReadonlySet<string>): number {
  if (required.length === 0) return 0;
  let n = 0;
  for (const s of required) if (providerSkills.has(s)) n++;
  return n / required.length;
}

/** Share of `required` qualifications among `held`; 0 when none are required (so it only ever rewards). */
export function qualificationMatch(required: readonly string[], held: ReadonlySet<string>): number {
  return skillCoverage(required, held);
}

export function priceFit(priceMinor: number, budgetTargetMinor: number): number {
  const d = Math.log(priceMinor / budgetTargetMinor);
  return Math.exp(-(d * d) / (2 * 0.25));
}

/** What a job's budget aims at: its fixed price, else the middle of its range. */
export function budgetTarget(job: { fixed_price_minor: number | null; budget_min_minor: number | null; budget_max_minor: number | null }): number {
  if (job.fixed_price_minor != null) return job.fixed_price_minor;
  return ((job.budget_min_minor ?? job.budget_max_minor!) + job.budget_max_minor!) / 2;
}

// --- ads ------------------------------------------------------------------------------------------

/** Placements and their base click-through rates. */
export const PLACEMENTS = [
  { slot: 'search_top', name: 'Search results, top', baseCtr: 0.045 },
  { slot: 'search_side', name: 'Search results, sidebar', baseCtr: 0.012 },
  { slot: 'job_feed', name: 'Job feed, inline', baseCtr: 0.03 },
  { slot: 'profile_page', name: 'Provider profile page', baseCtr: 0.015 },
  { slot: 'email_digest', name: 'Weekly email digest', baseCtr: 0.02 },
  { slot: 'dashboard_banner', name: 'Dashboard banner', baseCtr: 0.008 },
] as const;

/** A creative's quality as a log-odds offset, derived from its id so it is recomputable. */
export function creativeQuality(seed: string | number, creativeId: string): number {
  return 0.4 * hashNormal(`${seed}/quality/${creativeId}`);
}

/** A user's affinity for ads as a log-odds offset, derived from the user id. */
export function userAffinity(seed: string | number, userId: string): number {
  return 0.5 * hashNormal(`${seed}/affinity/${userId}`);
}

/** The click probability of a genuine impression: logistic in base rate, creative quality and user affinity. */
export function clickProbability(baseCtr: number, quality: number, affinity: number): number {
  return sigmoid(logit(baseCtr) + quality + affinity);
}

