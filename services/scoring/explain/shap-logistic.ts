// Exact SHAP values of a logistic model in log-odds space. With inputs standardised as
// z = (x − mean) / std (std 0 counts as 1) and features taken as independent (interventional
// SHAP against the training distribution), the Shapley value of feature i is coefᵢ·zᵢ and the base
// is the logit at the mean row, the intercept: base + Σφ is the logit exactly, not approximately.
// φ is computed in the forward kernel's own order ((x − mean)·(1/std), times coef), so the logit
// summed here is the one the kernel scored.
import { ValidationError } from '../../../platform/errors/app-error.js';
import type { LogisticModelShape } from '../../../model-registry/inference/model-types.js';
import { validateModel } from '../../../model-registry/inference/validate-model.js';

export interface LogisticShap {
  readonly featureNames: readonly string[];
  readonly inputSize: number;
  /** The logit at the training means: the intercept on the standardised scale. */
  readonly base: number;
  /**
   * For n raw rows (row-major n × inputSize) writes φ into `out.phi` (n × inputSize), each row's
   * logit, base + Σφ, into `out.logits` and, when given, its score σ(logit) into `out.scores`.
   * Allocates nothing.
   */
  explain(rows: ArrayLike<number>, n: number, out: LogisticShapOutput): void;
}

/** Caller-owned buffers (phi ≥ n × inputSize, the others ≥ n). */
export interface LogisticShapOutput {
  phi: Float64Array;
  logits: Float64Array;
  scores?: Float64Array;
}

/** The logistic function, split by sign so exp never overflows (the kernel's own). */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Validates a logistic model and precomputes what its SHAP values need. */
export function createLogisticShap(model: LogisticModelShape): LogisticShap {
  const m = validateModel(model);
  if (m.kind !== 'logistic') throw new ValidationError('SHAP-linear needs a logistic model', [{ path: '/model/kind', message: "must be 'logistic'" }]);
  const d = m.featureNames.length;
  const means = Float64Array.from(m.means);
  const invStds = Float64Array.from(m.stds, (s) => (s > 0 ? 1 / s : 1));
  const coef = Float64Array.from(m.coef);
  const base = m.intercept;
  return {
    featureNames: m.featureNames,
    inputSize: d,
    base,
    explain(rows, n, { phi, logits, scores }) {
      if (!Number.isInteger(n) || n < 0) throw new ValidationError('n must be a non-negative integer', [{ path: 'n', message: 'must be a non-negative integer' }]);
      if (rows.length < n * d) throw new ValidationError(`rows holds ${rows.length} values, ${n} rows need ${n * d}`, [{ path: 'rows', message: `must hold n × ${d} values` }]);
      if (phi.length < n * d) throw new ValidationError(`phi holds ${phi.length} values, needs ${n * d}`, [{ path: 'phi', message: 'too short' }]);
      if (logits.length < n) throw new ValidationError(`logits holds ${logits.length} values, needs ${n}`, [{ path: 'logits', message: 'too short' }]);
      if (scores && scores.length < n) throw new ValidationError(`scores holds ${scores.length} values, needs ${n}`, [{ path: 'scores', message: 'too short' }]);
      for (let r = 0, o = 0; r < n; r++) {
        let eta = base;
        for (let k = 0; k < d; k++, o++) {
          const p = ((rows[o]! - means[k]!) * invStds[k]!) * coef[k]!;
          phi[o] = p;
          eta += p;
        }
        logits[r] = eta;
        if (scores) scores[r] = sigmoid(eta);
      }
    },
  };
}
