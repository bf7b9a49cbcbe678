// L2-regularised logistic regression fitted exactly by Newton's method (IRLS) on standardised
// features. The objective is Σ wᵢ·logloss(yᵢ, pᵢ) + (l2/2)·‖β‖² with the intercept unpenalised,
// which is scikit-learn's LogisticRegression with C = 1/l2 when both see the same standardised
// columns. One pass over the rows per iteration builds the gradient and the (d+1)×(d+1) Hessian
// X'WX in a tight loop over a row-major Float64Array; ml-matrix only solves the small system.
// Mostly-zero designs (one-hot, hashed buckets) take the sparse path: the same standardised
// objective, but X'WX is accumulated over each row's non-zeros on the raw columns and centred
// afterwards (H̃ = S⁻¹(X'WX − m·v' − v·m' + W·m·m')S⁻¹), so a one-hot row costs nnz² not d². Beyond
// MAX_NEWTON_COLS columns the (d+1)² system is too big to solve each step and L-BFGS takes over.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { ValidationError } from '../../platform/errors/app-error.js';
import { designFromRows, type Design } from './design.js';
import type { TableEncoding } from './encode-table.js';
import { lbfgs } from './lbfgs.js';
import { isSparseDesign, sparseFromDesign, type SparseDesign } from './sparse-design.js';

/** Widest design Newton's method solves exactly; wider ones are fitted by L-BFGS. */
export const MAX_NEWTON_COLS = 1024;

export interface LogisticModel {
  kind: 'logistic';
  featureNames: string[];
  /** Training-row mean and population standard deviation per feature (std 1 for a constant column). */
  means: number[];
  stds: number[];
  /** Coefficients on the standardised scale, one per feature. */
  coef: number[];
  /** Intercept on the standardised scale: the log-odds at the mean row. */
  intercept: number;
  l2: number;
  iterations: number;
  converged: boolean;
  /** Mean penalised loss per training row at the end. */
  loss: number;
  /** How raw feature values become the design columns, when the design came from encodeTable. */
  encoding?: TableEncoding;
}

export interface LogisticProgress { iteration: number; loss: number; step: number }

export interface FitLogisticOptions {
  /** L2 penalty on the standardised coefficients (sklearn's 1/C); 0 for none (collinear columns then split their weight arbitrarily). */
  l2: number;
  /** Newton iterations at most (default 50). */
  maxIter?: number;
  /** Converged when no coefficient moves more than tol·(1 + max |β|) (default 1e-8). */
  tol?: number;
  /** Per-row weights on the loss (the standardisation stays unweighted). */
  sampleWeight?: ArrayLike<number>;
  /** newton (exact, ≤ MAX_NEWTON_COLS columns), lbfgs, or auto (default): newton when it fits. */
  solver?: 'auto' | 'newton' | 'lbfgs';
  /**
   * 'all' (default): every column standardised, sklearn's setup. 'dense': only columns with
   * at least half their values non-zero; sparse ones (one-hot, hashed buckets) stay on their
   * raw 0/1 scale (stored as mean 0, std 1), so a rare bucket is not blown up to a huge scale
   * the penalty cannot hold.
   */
  standardize?: 'all' | 'dense';
  /** Accumulate on the non-zeros (true) or over every cell (false); default by density (under half non-zero: sparse). */
  sparse?: boolean;
  onProgress?: (p: LogisticProgress) => void;
  /** Names of the columns when X is plain rows (a Design carries its own). */
  featureNames?: readonly string[];
  encoding?: TableEncoding;
}

export type DesignInput = Design | SparseDesign | readonly (readonly number[])[];

function asDesign(X: DesignInput, names?: readonly string[]): Design | SparseDesign {
  return Array.isArray(X) ? designFromRows(X as readonly (readonly number[])[], names) : X as Design | SparseDesign;
}

export function fitLogistic(X: DesignInput, y: ArrayLike<number>, opts: FitLogisticOptions): LogisticModel {
  const input = asDesign(X, opts.featureNames);
  validate(input, y, opts);
  const solver = opts.solver ?? 'auto';
  if (solver === 'newton' && input.cols > MAX_NEWTON_COLS) {
    throw new ValidationError(`Newton's method solves at most ${MAX_NEWTON_COLS} columns, the design has ${input.cols}`, [{ path: 'solver', message: 'use lbfgs (or auto) for a design this wide' }]);
  }
  const useLbfgs = solver === 'lbfgs' || (solver === 'auto' && input.cols > MAX_NEWTON_COLS);
  if (isSparseDesign(input)) return fitSparse(input, y, opts, useLbfgs);
  // A dense design that is mostly zeros (one-hot) is cheaper on its non-zeros.
  let nnz = 0;
  for (let k = 0; k < input.data.length; k++) if (input.data[k] !== 0) nnz++;
  if (useLbfgs || opts.standardize === 'dense' || (opts.sparse ?? nnz < 0.5 * input.data.length)) return fitSparse(sparseFromDesign(input), y, opts, useLbfgs);
  return fitDense(input, y, opts);
}

function fitDense(design: Design, y: ArrayLike<number>, opts: FitLogisticOptions): LogisticModel {
  const { rows: n, cols: d, data } = design;
  const sw = opts.sampleWeight;

  const { means, stds } = standardisation(design);
  const inv = stds.map((s) => 1 / s);
  const D = d + 1;
  const beta = new Float64Array(D);
  const { wsum, logit } = baseRate(y, sw, n);
  beta[0] = logit;

  const g = new Float64Array(D);
  const H = new Float64Array(D * D);
  // Rows are gathered in blocks of B, stored feature-major and scaled by √wᵢ, so X'WX is a sum of
  // dot products over contiguous memory accumulated in a register (about 3× faster in V8 than a
  // read-modify-write of H per row).
  const B = 128;
  const Zt = new Float64Array(D * B);
  const flush = (m: number) => {
    for (let a = 0; a < D; a++) {
      const ao = a * B;
      for (let b = a; b < D; b++) {
        const bo = b * B;
        let s0 = 0, s1 = 0;
        let k = 0;
        for (; k + 1 < m; k += 2) { s0 += Zt[ao + k]! * Zt[bo + k]!; s1 += Zt[ao + k + 1]! * Zt[bo + k + 1]!; }
        if (k < m) s0 += Zt[ao + k]! * Zt[bo + k]!;
        H[a * D + b]! += s0 + s1;
      }
    }
  };
  // One pass: penalised loss, gradient and Hessian at `beta`.
  const evaluate = (): number => {
    g.fill(0); H.fill(0);
    let loss = 0, k = 0;
    for (let i = 0; i < n; i++) {
      const wi = sw ? sw[i]! : 1;
      if (wi === 0) continue;
      const off = i * d;
      let eta = beta[0]!;
      Zt[k] = 1;
      for (let j = 0; j < d; j++) {
        const v = (data[off + j]! - means[j]!) * inv[j]!;
        Zt[(j + 1) * B + k] = v;
        eta += beta[j + 1]! * v;
      }
      const yi = y[i]!;
      let p: number, softplus: number;
      if (eta >= 0) { const e = Math.exp(-eta); p = 1 / (1 + e); softplus = eta + Math.log1p(e); } else { const e = Math.exp(eta); p = e / (1 + e); softplus = Math.log1p(e); }
      loss += wi * (softplus - yi * eta);
      const r = wi * (p - yi);
      const sq = Math.sqrt(wi * p * (1 - p));
      for (let a = 0; a < D; a++) {
        const at = a * B + k;
        g[a]! += r * Zt[at]!;
        Zt[at]! *= sq;
      }
      if (++k === B) { flush(B); k = 0; }
    }
    if (k) flush(k);
    for (let j = 1; j < D; j++) { loss += 0.5 * opts.l2 * beta[j]! * beta[j]!; g[j]! += opts.l2 * beta[j]!; H[j * D + j]! += opts.l2; }
    return loss;
  };

  const { loss, iterations, converged } = newton(beta, g, H, evaluate, opts, wsum);
  return modelOf(design.names, means, stds, beta, opts, iterations, converged, loss / wsum);
}

function modelOf(
  names: readonly string[], means: ArrayLike<number>, stds: ArrayLike<number>, beta: Float64Array,
  opts: FitLogisticOptions, iterations: number, converged: boolean, loss: number,
): LogisticModel {
  return {
    kind: 'logistic',
    featureNames: [...names],
    means: Array.from(means), stds: Array.from(stds),
    coef: Array.from(beta.subarray(1)), intercept: beta[0]!,
    l2: opts.l2, iterations, converged, loss,
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
  };
}

/** Newton's method on `beta` (updated in place); `evaluate` fills g and H at beta and returns the loss. */
function newton(
  beta: Float64Array, g: Float64Array, H: Float64Array, evaluate: () => number, opts: FitLogisticOptions, wsum: number,
): { loss: number; iterations: number; converged: boolean } {
  const D = beta.length, maxIter = opts.maxIter ?? 50, tol = opts.tol ?? 1e-8;
  let loss = evaluate();
  let iterations = 0, converged = false;
  while (iterations < maxIter) {
    const step = solveNewton(H, g, D);
    iterations++;
    let maxStep = 0, maxBeta = 0;
    for (let j = 0; j < D; j++) { maxStep = Math.max(maxStep, Math.abs(step[j]!)); maxBeta = Math.max(maxBeta, Math.abs(beta[j]!)); }
    if (maxStep <= tol * (1 + maxBeta)) {
      // Converged: a step this small changes the loss by ~step², so take it without another pass.
      for (let j = 0; j < D; j++) beta[j]! -= step[j]!;
      opts.onProgress?.({ iteration: iterations, loss: loss / Math.max(wsum, 1e-300), step: maxStep });
      converged = true;
      break;
    }
    const prev = Float64Array.from(beta);
    // Newton's step on this convex loss almost always lowers it; halve it when it does not
    // (nearly separable data), so the loss never rises.
    let t = 1, next = loss;
    for (let halvings = 0; halvings < 30; halvings++) {
      for (let j = 0; j < D; j++) beta[j] = prev[j]! - t * step[j]!;
      next = evaluate();
      if (next <= loss + 1e-12 * Math.abs(loss)) break;
      t /= 2;
    }
    loss = next;
    opts.onProgress?.({ iteration: iterations, loss: loss / Math.max(wsum, 1e-300), step: maxStep * t });
  }
  return { loss, iterations, converged };
}

/**
 * The sparse path. Columns with at least half their values non-zero are centred and scaled up
 * front (they are dense anyway, and centring them first avoids cancellation for large means);
 * the others stay raw in CSR and their standardisation x̃ = (x − m)/s is applied algebraically.
 */
function fitSparse(X: SparseDesign, y: ArrayLike<number>, opts: FitLogisticOptions, useLbfgs: boolean): LogisticModel {
  const { rows: n, cols: d } = X;
  const sw = opts.sampleWeight;
  // Column moments over the non-zeros (a zero adds nothing to Σx or Σx²).
  const nnzOf = new Float64Array(d), sum = new Float64Array(d);
  for (let k = 0; k < X.indices.length; k++) { nnzOf[X.indices[k]!]! += 1; sum[X.indices[k]!]! += X.values[k]!; }
  const means = new Float64Array(d), stds = new Float64Array(d);
  for (let j = 0; j < d; j++) means[j] = sum[j]! / Math.max(n, 1);
  const ss = new Float64Array(d);
  for (let k = 0; k < X.indices.length; k++) { const j = X.indices[k]!; const c = X.values[k]! - means[j]!; ss[j]! += c * c; }
  const dense = new Uint8Array(d);
  for (let j = 0; j < d; j++) {
    // Σ(x − m)² over all rows: the non-zeros' part plus the zeros' (n − nnz)·m².
    const sd = Math.sqrt((ss[j]! + (n - nnzOf[j]!) * means[j]! * means[j]!) / Math.max(n, 1));
    stds[j] = sd > 1e-12 * Math.max(1, Math.abs(means[j]!)) ? sd : 1;
    dense[j] = nnzOf[j]! >= 0.5 * n ? 1 : 0;
    if (!dense[j] && opts.standardize === 'dense') { means[j] = 0; stds[j] = 1; }
  }
  // Working rows: dense columns as standardised values for every row, sparse ones raw.
  const denseCols = Int32Array.from({ length: d }, (_, j) => j).filter((j) => dense[j] === 1);
  const sparseCount = X.indices.reduce((c, j) => c + (dense[j] ? 0 : 1), 0);
  const offsets = new Int32Array(n + 1);
  const idx = new Int32Array(sparseCount + n * denseCols.length), val = new Float64Array(idx.length);
  {
    const zRow = new Float64Array(d);
    let at = 0;
    for (let i = 0; i < n; i++) {
      for (const j of denseCols) zRow[j] = -means[j]! / stds[j]!;
      for (let k = X.offsets[i]!; k < X.offsets[i + 1]!; k++) {
        const j = X.indices[k]!;
        if (dense[j]) zRow[j] = (X.values[k]! - means[j]!) / stds[j]!;
      }
      // Merge the dense columns and the row's sparse entries in column order.
      let p = 0, k = X.offsets[i]!;
      const end = X.offsets[i + 1]!;
      while (p < denseCols.length || k < end) {
        while (k < end && dense[X.indices[k]!]) k++;
        const jd = p < denseCols.length ? denseCols[p]! : Infinity, js = k < end ? X.indices[k]! : Infinity;
        if (jd === Infinity && js === Infinity) break;
        if (jd < js) { idx[at] = jd; val[at++] = zRow[jd]!; p++; } else { idx[at] = js; val[at++] = X.values[k]!; k++; }
      }
      offsets[i + 1] = at;
    }
  }
  // The algebraic standardisation of a working column: x̃ = (x − cm)/cs (cm 0, cs 1 when done up front).
  const cm = new Float64Array(d), cs = new Float64Array(d).fill(1);
  for (let j = 0; j < d; j++) if (!dense[j]) { cm[j] = means[j]!; cs[j] = stds[j]!; }

  const D = d + 1;
  const beta = new Float64Array(D);
  const { wsum, logit } = baseRate(y, sw, n);
  beta[0] = logit;

  const wRaw = new Float64Array(d);          // β̃_j / cs_j: the weight on a raw working value
  const G = new Float64Array(d), V = new Float64Array(d);
  // One pass: loss, raw-column gradient G = Σ r·x and (for Newton) V = Σ h·x and Hr = Σ h·x·x'.
  const pass = (b: Float64Array, Hr: Float64Array | null): { loss: number; R: number; Hs: number } => {
    let c = b[0]!;
    for (let j = 0; j < d; j++) { wRaw[j] = b[j + 1]! / cs[j]!; c -= wRaw[j]! * cm[j]!; }
    G.fill(0); V.fill(0); Hr?.fill(0);
    let loss = 0, R = 0, Hs = 0;
    for (let i = 0; i < n; i++) {
      const wi = sw ? sw[i]! : 1;
      if (wi === 0) continue;
      const a0 = offsets[i]!, a1 = offsets[i + 1]!;
      let eta = c;
      for (let k = a0; k < a1; k++) eta += wRaw[idx[k]!]! * val[k]!;
      const yi = y[i]!;
      let p: number, softplus: number;
      if (eta >= 0) { const e = Math.exp(-eta); p = 1 / (1 + e); softplus = eta + Math.log1p(e); } else { const e = Math.exp(eta); p = e / (1 + e); softplus = Math.log1p(e); }
      loss += wi * (softplus - yi * eta);
      const r = wi * (p - yi);
      R += r;
      for (let k = a0; k < a1; k++) G[idx[k]!]! += r * val[k]!;
      if (Hr) {
        const h = wi * p * (1 - p);
        Hs += h;
        for (let k = a0; k < a1; k++) {
          const ja = idx[k]!, hx = h * val[k]!, row = ja * d;
          V[ja]! += hx;
          for (let l = k; l < a1; l++) Hr[row + idx[l]!]! += hx * val[l]!;
        }
      }
    }
    let pen = 0;
    for (let j = 1; j < D; j++) pen += 0.5 * opts.l2 * b[j]! * b[j]!;
    return { loss: loss + pen, R, Hs };
  };
  // The standardised gradient: g̃_0 = R, g̃_j = (G_j − cm_j·R)/cs_j + l2·β̃_j.
  const gradient = (b: Float64Array, R: number, g: Float64Array) => {
    g[0] = R;
    for (let j = 0; j < d; j++) g[j + 1] = (G[j]! - cm[j]! * R) / cs[j]! + opts.l2 * b[j + 1]!;
  };

  let iterations: number, converged: boolean, loss: number;
  if (useLbfgs) {
    // Preconditioner: the Hessian's diagonal at the start (intercept-only fit), inverted.
    const diag = new Float64Array(D);
    {
      const p0 = sigmoid(beta[0]!);
      const h = p0 * (1 - p0);
      const Hx = new Float64Array(d), Hxx = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const wi = sw ? sw[i]! : 1;
        for (let k = offsets[i]!; k < offsets[i + 1]!; k++) { Hx[idx[k]!]! += wi * val[k]!; Hxx[idx[k]!]! += wi * val[k]! * val[k]!; }
      }
      diag[0] = wsum / (h * wsum);
      for (let j = 0; j < d; j++) {
        const hjj = h * (Hxx[j]! - 2 * cm[j]! * Hx[j]! + cm[j]! * cm[j]! * wsum) / (cs[j]! * cs[j]!) + opts.l2;
        diag[j + 1] = wsum / hjj;
      }
    }
    // Scaled by 1/Σw so the gradient tolerance means the same at any row count.
    const res = lbfgs((b, g) => {
      const r = pass(b, null);
      gradient(b, r.R, g);
      for (let j = 0; j < D; j++) g[j]! /= wsum;
      return r.loss / wsum;
    }, beta, {
      maxIter: opts.maxIter ?? 500, gtol: opts.tol ?? 1e-8, inverseDiagonal: diag,
      onIteration: (iteration, f, gmax) => opts.onProgress?.({ iteration, loss: f, step: gmax }),
    });
    beta.set(res.x);
    ({ iterations, converged } = res);
    loss = res.f;
  } else {
    const g = new Float64Array(D), H = new Float64Array(D * D), Hr = new Float64Array(d * d);
    const evaluate = () => {
      const r = pass(beta, Hr);
      gradient(beta, r.R, g);
      // H̃_jk = (Hr_jk − cm_j·V_k − cm_k·V_j + cm_j·cm_k·Hs)/(cs_j·cs_k); H̃_0j = (V_j − cm_j·Hs)/cs_j.
      H[0] = r.Hs;
      for (let j = 0; j < d; j++) {
        H[j + 1] = (V[j]! - cm[j]! * r.Hs) / cs[j]!;
        for (let k = j; k < d; k++) {
          // Hr holds each pair once, in the upper triangle (row entries are in column order).
          const h = (Hr[j * d + k]! - cm[j]! * V[k]! - cm[k]! * V[j]! + cm[j]! * cm[k]! * r.Hs) / (cs[j]! * cs[k]!);
          H[(j + 1) * D + k + 1] = h + (j === k ? opts.l2 : 0);
        }
      }
      return r.loss;
    };
    const res = newton(beta, g, H, evaluate, opts, wsum);
    ({ iterations, converged } = res);
    loss = res.loss / wsum;
  }
  return modelOf(X.names, means, stds, beta, opts, iterations, converged, loss);
}

/** Probabilities of class 1 for the rows of X (raw, unstandardised values: the model standardises). */
export function predictLogistic(model: LogisticModel, X: DesignInput): Float64Array {
  const design = asDesign(X);
  const { rows: n, cols: d } = design;
  if (d !== model.coef.length) throw new ValidationError(`X has ${d} columns, the model ${model.coef.length}`, [{ path: 'X', message: `must have ${model.coef.length} columns` }]);
  const { weights, bias } = rawScale(model);
  const out = new Float64Array(n);
  if (isSparseDesign(design)) {
    for (let i = 0; i < n; i++) {
      let eta = bias;
      for (let k = design.offsets[i]!; k < design.offsets[i + 1]!; k++) eta += weights[design.indices[k]!]! * design.values[k]!;
      out[i] = sigmoid(eta);
    }
    return out;
  }
  const { data } = design;
  for (let i = 0; i < n; i++) {
    let eta = bias;
    const off = i * d;
    for (let j = 0; j < d; j++) eta += weights[j]! * data[off + j]!;
    out[i] = sigmoid(eta);
  }
  return out;
}

/** The model on the raw scale: η = bias + Σ weights[j]·x[j]. */
export function rawScale(model: LogisticModel): { weights: Float64Array; bias: number } {
  const weights = new Float64Array(model.coef.length);
  let bias = model.intercept;
  for (let j = 0; j < weights.length; j++) {
    weights[j] = model.coef[j]! / model.stds[j]!;
    bias -= weights[j]! * model.means[j]!;
  }
  return { weights, bias };
}

export function sigmoid(eta: number): number {
  if (eta >= 0) return 1 / (1 + Math.exp(-eta));
  const e = Math.exp(eta);
  return e / (1 + e);
}

function standardisation(design: Design): { means: Float64Array; stds: Float64Array } {
  const { rows: n, cols: d, data } = design;
  const means = new Float64Array(d);
  const stds = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) means[j]! /= Math.max(n, 1);
  // Two passes: Σ(x − mean)² does not cancel catastrophically the way Σx² − n·mean² does.
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) { const c = data[i * d + j]! - means[j]!; stds[j]! += c * c; }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(stds[j]! / Math.max(n, 1));
    // A constant column centres to zero; scale 1 keeps it zero instead of dividing by zero.
    stds[j] = s > 1e-12 * Math.max(1, Math.abs(means[j]!)) ? s : 1;
  }
  return { means, stds };
}

/** Solves H·step = g by Cholesky; a rank-deficient H (collinear one-hots without a penalty) gets a tiny ridge. */
function solveNewton(H: Float64Array, g: Float64Array, D: number): Float64Array {
  const A = new Matrix(D, D);
  let maxDiag = 0;
  for (let a = 0; a < D; a++) {
    maxDiag = Math.max(maxDiag, H[a * D + a]!);
    for (let b = a; b < D; b++) { A.set(a, b, H[a * D + b]!); A.set(b, a, H[a * D + b]!); }
  }
  const rhs = Matrix.columnVector(Array.from(g));
  for (let k = 0, jitter = 0; k < 12; k++, jitter = Math.max(maxDiag, 1) * 1e-12 * 10 ** k) {
    const M = jitter ? A.clone() : A;
    if (jitter) for (let a = 0; a < D; a++) M.set(a, a, M.get(a, a) + jitter);
    const chol = new CholeskyDecomposition(M);
    if (chol.isPositiveDefinite()) return Float64Array.from(chol.solve(rhs).getColumn(0));
  }
  throw new ValidationError('the Hessian is not positive definite even with a ridge: features are degenerate', [{ path: 'X', message: 'columns are degenerate' }]);
}

function validate(design: Design | SparseDesign, y: ArrayLike<number>, opts: FitLogisticOptions): void {
  const problems: { path: string; message: string }[] = [];
  if (design.rows === 0) problems.push({ path: 'X', message: 'must have at least one row' });
  if (y.length !== design.rows) problems.push({ path: 'y', message: `must have ${design.rows} values (one per row), has ${y.length}` });
  if (!(Number.isFinite(opts.l2) && opts.l2 >= 0)) problems.push({ path: 'l2', message: 'must be a finite number ≥ 0' });
  if (opts.maxIter !== undefined && !(Number.isInteger(opts.maxIter) && opts.maxIter >= 1)) problems.push({ path: 'maxIter', message: 'must be an integer ≥ 1' });
  if (opts.tol !== undefined && !(opts.tol > 0)) problems.push({ path: 'tol', message: 'must be > 0' });
  if (opts.sampleWeight && opts.sampleWeight.length !== design.rows) problems.push({ path: 'sampleWeight', message: `must have ${design.rows} values` });
  for (let i = 0; i < y.length && problems.length === 0; i++) {
    if (y[i] !== 0 && y[i] !== 1) problems.push({ path: `y/${i}`, message: 'must be 0 or 1' });
    const w = opts.sampleWeight?.[i];
    if (w !== undefined && !(w >= 0 && Number.isFinite(w))) problems.push({ path: `sampleWeight/${i}`, message: 'must be a finite number ≥ 0' });
  }
  if (opts.solver !== undefined && !['auto', 'newton', 'lbfgs'].includes(opts.solver)) problems.push({ path: 'solver', message: 'must be auto, newton or lbfgs' });
  if (opts.standardize !== undefined && opts.standardize !== 'all' && opts.standardize !== 'dense') problems.push({ path: 'standardize', message: 'must be all or dense' });
  if (isSparseDesign(design)) {
    const { values, indices, offsets } = design;
    if (offsets.length !== design.rows + 1 || offsets[design.rows] !== indices.length) problems.push({ path: 'X', message: 'CSR offsets do not match the rows and entries' });
    for (let k = 0; k < values.length && problems.length === 0; k++) {
      if (!Number.isFinite(values[k])) problems.push({ path: `X/entry/${k}`, message: 'must be a finite number (encode nulls first)' });
      if (!(indices[k]! >= 0 && indices[k]! < design.cols)) problems.push({ path: `X/entry/${k}`, message: `column must be in 0..${design.cols - 1}` });
    }
  } else {
    const { data } = design;
    for (let k = 0; k < data.length && problems.length === 0; k++) {
      if (!Number.isFinite(data[k])) problems.push({ path: `X/${Math.floor(k / design.cols)}/${k % design.cols}`, message: 'must be a finite number (encode nulls first)' });
    }
  }
  if (problems.length) throw new ValidationError(`invalid logistic fit: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
}

/** The total weight and the log-odds of the (weighted) base rate: where every fit starts its intercept. */
function baseRate(y: ArrayLike<number>, sw: ArrayLike<number> | undefined, n: number): { wsum: number; logit: number } {
  let wsum = 0, ysum = 0;
  for (let i = 0; i < n; i++) { const w = sw ? sw[i]! : 1; wsum += w; ysum += w * y[i]!; }
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, ysum / wsum));
  return { wsum, logit: Math.log(rate / (1 - rate)) };
}
