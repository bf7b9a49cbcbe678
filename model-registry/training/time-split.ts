// Splitting rows by label time: train on the past, validate and hold out on the future, the way
// the model will meet its data. Rows with the same time never straddle a cut (they go to the later
// part), so no holdout row shares its instant with a training row.
import { ValidationError } from '../../platform/errors/app-error.js';
import { Random } from '../../pipelines/synthetic/random.js';

export interface TimeSplit {
  train: Int32Array;
  validation: Int32Array;
  holdout: Int32Array;
  /** First time of the validation and holdout parts (null for an empty part). */
  validationFrom: number | null;
  holdoutFrom: number | null;
}

export interface TimeSplitOptions {
  /** Share of rows (the latest) held out, in [0, 1). */
  holdoutFraction: number;
  /** Share of rows (just before the holdout) for validation, default 0. */
  validationFraction?: number;
}

export function timeSplit(times: ArrayLike<number>, opts: TimeSplitOptions): TimeSplit {
  const h = opts.holdoutFraction, v = opts.validationFraction ?? 0;
  const problems: { path: string; message: string }[] = [];
  if (!(h >= 0 && h < 1)) problems.push({ path: 'holdoutFraction', message: 'must be in [0, 1)' });
  if (!(v >= 0 && v < 1)) problems.push({ path: 'validationFraction', message: 'must be in [0, 1)' });
  if (h + v >= 1) problems.push({ path: 'validationFraction', message: 'validation + holdout must leave rows to train on' });
  for (let i = 0; i < times.length && !problems.length; i++) if (!Number.isFinite(times[i])) problems.push({ path: `times/${i}`, message: 'must be a finite time' });
  if (problems.length) throw new ValidationError(`invalid time split: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);

  const n = times.length;
  // Stable order by time, then row index: the same input always gives the same parts.
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
  // The first position at or after `target` whose time differs from the previous one: ties move later.
  const cutAt = (target: number): number => {
    let k = Math.min(n, Math.max(0, Math.round(target)));
    while (k > 0 && k < n && times[order[k]!] === times[order[k - 1]!]) k--;
    return k;
  };
  const holdoutStart = h > 0 ? cutAt(n * (1 - h)) : n;
  const validationStart = v > 0 ? Math.min(cutAt(n * (1 - h - v)), holdoutStart) : holdoutStart;
  return {
    train: order.slice(0, validationStart),
    validation: order.slice(validationStart, holdoutStart),
    holdout: order.slice(holdoutStart),
    validationFrom: validationStart < holdoutStart ? times[order[validationStart]!]! : null,
    holdoutFrom: holdoutStart < n ? times[order[holdoutStart]!]! : null,
  };
}

/** A seeded random split (for data without times, like the Adult benchmark): same seed, same parts. */
export function randomSplit(n: number, holdoutFraction: number, seed: string | number): { train: Int32Array; holdout: Int32Array } {
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) throw new ValidationError('holdoutFraction must be in (0, 1)', [{ path: 'holdoutFraction', message: 'must be in (0, 1)' }]);
  const rng = new Random(seed, 'split');
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rng.next() * (i + 1)); const t = order[i]!; order[i] = order[j]!; order[j] = t; }
  const cut = Math.round(n * (1 - holdoutFraction));
  return { train: order.slice(0, cut).sort(), holdout: order.slice(cut).sort() };
}
