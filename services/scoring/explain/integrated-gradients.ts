// Integrated Gradients (Sundararajan et al., 2017) of an MLP's output logit, the last layer's
// pre-activation, from the training-mean baseline x′ = means (z = 0):
//   φᵢ = (xᵢ − x′ᵢ) · ∫₀¹ ∂f/∂xᵢ (x′ + α(x − x′)) dα,
// the integral by a quadrature rule over the kernel's own backward pass (kernel-gradients.ts).
// Completeness, Σφ = f(x) − f(x′), holds for the exact integral; the gap is known exactly (f(x) and
// f(x′) are one forward pass each) and reported per row.
//   A ReLU network's gradient jumps at every kink the path crosses, so a fixed-step rule's error
//   only falls as 1/steps (random [16, 8] ReLU nets: gaps of 2e-2 at 64 steps, 1e-3 at 1024). When
//   every hidden layer is relu or linear the logit is linear between kinks, so the kernel walks the
//   path kink to kink and sums one constant gradient per piece: exact, and cheaper than 64 steps
//   (~20 pieces on a [32, 16] net). Smooth networks (tanh, sigmoid) take Gauss–Legendre, mixed ones
//   the trapezoid rule; a row whose gap still exceeds `tolerance` gets twice the steps (the
//   trapezoid reuses its points) up to `maxSteps`, as the IG paper advises. Quadrature points of
//   a whole batch go through the kernel together, in bounded chunks.
import { ValidationError } from '../../../platform/errors/app-error.js';
import { compileGradients } from '../../../model-registry/inference/kernel-gradients.js';
import type { ServableModel } from '../../../model-registry/inference/model-types.js';

export type QuadratureRule = 'trapezoid' | 'gauss-legendre';
/** 'exact' needs relu/linear hidden layers; 'auto' picks exact, else Gauss–Legendre (smooth), else trapezoid (mixed). */
export type IntegrationRule = 'auto' | 'exact' | QuadratureRule;

export interface IntegratedGradientsOptions {
  /** Trapezoid: intervals (steps + 1 points); Gauss–Legendre: points. Default 64 (16 when 'auto' picks Gauss–Legendre). Unused by 'exact'. */
  steps?: number;
  /** Default 'auto'. */
  rule?: IntegrationRule;
  /** Completeness gap above which a row is refined (default 1e-3; Infinity never refines). */
  tolerance?: number;
  /** Steps a refined row may reach (default 1024). */
  maxSteps?: number;
}

export interface IntegratedGradients {
  readonly featureNames: readonly string[];
  readonly inputSize: number;
  readonly steps: number;
  /** The rule in use ('auto' resolved). */
  readonly rule: Exclude<IntegrationRule, 'auto'>;
  readonly tolerance: number;
  readonly maxSteps: number;
  /** The logit at the baseline (the training means). */
  readonly base: number;
  /**
   * For n raw rows (row-major n × inputSize) writes φ into `out.phi` (n × inputSize), each row's
   * logit into `out.logits` and, when given, the score (the model's output) and |Σφ − (logit − base)|.
   */
  explain(rows: ArrayLike<number>, n: number, out: IntegratedGradientsOutput): void;
}

/** Caller-owned buffers an explanation is written into (phi ≥ n × inputSize, the others ≥ n). */
export interface IntegratedGradientsOutput {
  phi: Float64Array;
  logits: Float64Array;
  scores?: Float64Array;
  completenessErrors?: Float64Array;
  /** Per row, the gradients evaluated: quadrature steps (more than `steps` when refined), or linear pieces for 'exact'. */
  stepsUsed?: Int32Array;
}

export const DEFAULT_IG_STEPS = 64;
/** Gauss–Legendre points when 'auto' picks that rule for a smooth network. */
export const DEFAULT_GL_AUTO_STEPS = 16;
export const DEFAULT_IG_TOLERANCE = 1e-3;
export const DEFAULT_IG_MAX_STEPS = 1024;
/** Path points sent through the kernel at once: bounds the buffers (~d × 32 KB) whatever the batch. */
const POINTS_PER_CHUNK = 4096;

/** Nodes in [0, 1] and weights summing to 1 of a quadrature rule. */
export function quadrature(rule: QuadratureRule, steps: number): { nodes: Float64Array; weights: Float64Array } {
  if (!Number.isInteger(steps) || steps < 1 || steps > 4096) {
    throw new ValidationError('steps must be an integer from 1 to 4096', [{ path: 'steps', message: 'must be an integer from 1 to 4096' }]);
  }
  if (rule === 'trapezoid') {
    const nodes = Float64Array.from({ length: steps + 1 }, (_, k) => k / steps);
    const weights = new Float64Array(steps + 1).fill(1 / steps);
    weights[0] = weights[steps] = 1 / (2 * steps);
    return { nodes, weights };
  }
  // Gauss–Legendre on [−1, 1] by Newton's method on Pₘ from Chebyshev starting points, mapped to [0, 1].
  const nodes = new Float64Array(steps);
  const weights = new Float64Array(steps);
  for (let i = 0; i < Math.ceil(steps / 2); i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (steps + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1, p1 = t;
      for (let k = 2; k <= steps; k++) { const p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k; p0 = p1; p1 = p2; }
      dp = (steps * (t * p1 - p0)) / (t * t - 1);   // P′ₘ from Pₘ and Pₘ₋₁
      const dt = p1 / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-16) break;
    }
    const w = 2 / ((1 - t * t) * dp * dp);
    // Symmetric pairs ±t; the middle node (odd m) is written twice with the same value.
    nodes[i] = (1 - t) / 2; weights[i] = w / 2;
    nodes[steps - 1 - i] = (1 + t) / 2; weights[steps - 1 - i] = w / 2;
  }
  return { nodes, weights };
}

/** Compiles Integrated Gradients for a logistic or MLP model (for a logistic model IG equals exact SHAP). */
export function createIntegratedGradients(model: ServableModel, opts: IntegratedGradientsOptions = {}): IntegratedGradients {
  if (!['auto', 'exact', 'trapezoid', 'gauss-legendre'].includes(opts.rule ?? 'auto')) {
    throw new ValidationError("rule must be 'auto', 'exact', 'trapezoid' or 'gauss-legendre'", [{ path: 'rule', message: "must be 'auto', 'exact', 'trapezoid' or 'gauss-legendre'" }]);
  }
  const kernel = compileGradients(model, { target: 'logit' });
  const smooth = model.kind === 'mlp' && model.layers.slice(0, -1).every((l) => l.activation !== 'relu');
  const auto = opts.rule === undefined || opts.rule === 'auto';
  const rule: Exclude<IntegrationRule, 'auto'> = opts.rule === undefined || opts.rule === 'auto'
    ? (kernel.piecewiseLinear ? 'exact' : smooth ? 'gauss-legendre' : 'trapezoid')
    : opts.rule;
  if (rule === 'exact' && !kernel.piecewiseLinear) {
    throw new ValidationError("rule 'exact' needs relu or linear hidden layers", [{ path: 'rule', message: 'the network has tanh or sigmoid hidden layers' }]);
  }
  // On a smooth path Gauss–Legendre's error falls exponentially with the points: 16 already leave
  // gaps near 1e-12 on tanh networks, and refinement still catches a rougher path.
  const steps = opts.steps ?? (auto && rule === 'gauss-legendre' ? DEFAULT_GL_AUTO_STEPS : DEFAULT_IG_STEPS);
  const tolerance = opts.tolerance ?? DEFAULT_IG_TOLERANCE;
  const maxSteps = Math.max(steps, opts.maxSteps ?? DEFAULT_IG_MAX_STEPS);
  if (!(tolerance >= 0)) throw new ValidationError('tolerance must be ≥ 0', [{ path: 'tolerance', message: 'must be a number ≥ 0' }]);
  // Quadrature levels: steps·2^k up to maxSteps (also the fallback of an 'exact' row with too many
  // kinks). A trapezoid level adds only the midpoints of the level below.
  const quadRule: QuadratureRule = rule === 'gauss-legendre' ? 'gauss-legendre' : 'trapezoid';
  quadrature(quadRule, maxSteps);   // checks the bounds
  const levels: { steps: number; nodes: Float64Array; weights: Float64Array; halve: boolean }[] = [{ ...quadrature(quadRule, steps), steps, halve: false }];
  for (let m = steps * 2; m <= maxSteps; m *= 2) {
    levels.push(quadRule === 'trapezoid'
      ? { steps: m, nodes: Float64Array.from({ length: m / 2 }, (_, j) => (2 * j + 1) / m), weights: new Float64Array(m / 2).fill(1 / m), halve: true }
      : { steps: m, ...quadrature(quadRule, m), halve: false });
  }

  const d = kernel.inputSize;
  const baseline = Float64Array.from(model.means);
  const baseOut = new Float64Array(1);
  kernel.evaluate(baseline, 1, baseOut);
  const base = baseOut[0]!;

  // Queued path points (with the row each belongs to and its weight) and their gradients;
  // allocated on first use (an exact-rule explainer never needs them), grow-only.
  let capacity = 0;
  let points = new Float64Array(0);
  let grads = new Float64Array(0);
  let pointRow = new Int32Array(0);
  let pointWeight = new Float64Array(0);
  let queued = 0;
  let pending = new Int32Array(0);
  let scratchGaps = new Float64Array(0);

  /** Runs the queued points through the kernel and adds weight · gradient to their rows' averages. */
  function flush(avg: Float64Array): void {
    if (queued === 0) return;
    kernel.gradients(points, queued, grads);
    for (let p = 0; p < queued; p++) {
      const w = pointWeight[p]!;
      for (let i = 0, x = pointRow[p]! * d, g = p * d; i < d; i++, x++, g++) avg[x] = avg[x]! + w * grads[g]!;
    }
    queued = 0;
  }

  /** Queues row r's path points at `at` (α values) with their weights. */
  function queue(rows: ArrayLike<number>, r: number, at: ArrayLike<number>, w: ArrayLike<number>, avg: Float64Array): void {
    const k = at.length;
    if (queued + k > capacity) flush(avg);
    if (k > capacity) {
      capacity = Math.max(k, POINTS_PER_CHUNK);
      points = new Float64Array(capacity * d); grads = new Float64Array(capacity * d);
      pointRow = new Int32Array(capacity); pointWeight = new Float64Array(capacity);
    }
    const x = r * d;
    for (let s = 0; s < k; s++, queued++) {
      const a = at[s]!;
      pointRow[queued] = r;
      pointWeight[queued] = w[s]!;
      for (let i = 0, o = queued * d; i < d; i++, o++) points[o] = baseline[i]! + a * (rows[x + i]! - baseline[i]!);
    }
  }

  /** Row r's completeness gap, with its weighted gradient sums in avg. */
  function gapOf(rows: ArrayLike<number>, r: number, avg: Float64Array, logits: Float64Array): number {
    let sum = 0;
    for (let i = 0, x = r * d; i < d; i++, x++) sum += (rows[x]! - baseline[i]!) * avg[x]!;
    return Math.abs(sum - (logits[r]! - base));
  }

  return {
    featureNames: kernel.featureNames,
    inputSize: d,
    steps,
    rule,
    tolerance,
    maxSteps,
    base,
    explain(rows, n, { phi, logits, scores, completenessErrors, stepsUsed }) {
      kernel.evaluate(rows, n, logits, scores);   // also checks n, rows and the buffers' lengths
      if (phi.length < n * d) throw new ValidationError(`phi holds ${phi.length} values, needs ${n * d}`, [{ path: 'phi', message: 'too short' }]);
      for (const [name, buf] of [['completenessErrors', completenessErrors], ['stepsUsed', stepsUsed]] as const) {
        if (buf && buf.length < n) throw new ValidationError(`${name} holds ${buf.length} values, needs ${n}`, [{ path: name, message: 'too short' }]);
      }
      if (pending.length < n) { pending = new Int32Array(n); scratchGaps = new Float64Array(n); }
      const gaps = completenessErrors ?? scratchGaps;
      phi.fill(0, 0, n * d);   // phi holds the weighted gradient sums until the last step
      let count = 0;   // rows left for quadrature: pending[0..count)
      if (rule === 'exact') {
        // The kernel walks each path kink to kink: the integral is exact, one constant gradient per linear piece.
        for (let r = 0; r < n; r++) {
          const pieces = kernel.integratePath(baseline, 0, rows, r * d, phi, r * d);
          if (pieces < 0) { pending[count++] = r; continue; }   // pathologically many kinks: quadrature instead
          if (stepsUsed) stepsUsed[r] = pieces;
        }
        for (let r = 0; r < n; r++) gaps[r] = gapOf(rows, r, phi, logits);
      } else {
        for (let r = 0; r < n; r++) pending[r] = r;
        count = n;
      }
      for (const level of levels) {
        if (count === 0) break;
        for (let c = 0; c < count; c++) {
          const x = pending[c]! * d;
          if (level.halve) for (let i = 0; i < d; i++) phi[x + i] = phi[x + i]! / 2;
          else phi.fill(0, x, x + d);
          queue(rows, pending[c]!, level.nodes, level.weights, phi);
          if (stepsUsed) stepsUsed[pending[c]!] = level.steps;
        }
        flush(phi);
        let kept = 0;
        for (let c = 0; c < count; c++) {
          const r = pending[c]!;
          gaps[r] = gapOf(rows, r, phi, logits);
          if (gaps[r]! > tolerance) pending[kept++] = r;
        }
        count = kept;
      }
      // phi held the averaged gradients: scale by the distance from the baseline.
      for (let r = 0, x = 0; r < n; r++) {
        for (let i = 0; i < d; i++, x++) phi[x] = (rows[x]! - baseline[i]!) * phi[x]!;
      }
    },
  };
}
