// Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, algorithm 7.4) with a
// backtracking Armijo line search, for smooth convex objectives too wide for a Newton system
// (the logistic loss over 2^16+ hashed buckets). Memory: 2·m vectors of the parameter size.

export interface LbfgsOptions {
  /** Iterations at most (default 500). */
  maxIter?: number;
  /** Converged when max |gradient| ≤ gtol (default 1e-9; scale the objective so this is meaningful). */
  gtol?: number;
  /** Correction pairs kept (default 10). */
  memory?: number;
  /**
   * A diagonal estimate of the inverse Hessian (the initial matrix H0, rescaled each step): for
   * hashed buckets whose curvatures differ by orders of magnitude it replaces γ·I and cuts the
   * iterations several-fold.
   */
  inverseDiagonal?: Float64Array;
  onIteration?: (iteration: number, f: number, gmax: number) => void;
}

export interface LbfgsResult { x: Float64Array; f: number; iterations: number; converged: boolean }

/** Minimises f; `fg(x, g)` returns f(x) and writes its gradient into g. */
export function lbfgs(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const maxIter = opts.maxIter ?? 500, gtol = opts.gtol ?? 1e-9, m = opts.memory ?? 10;
  const D = x0.length;
  const x = Float64Array.from(x0), g = new Float64Array(D);
  let f = fg(x, g);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const d = new Float64Array(D), xNew = new Float64Array(D), gNew = new Float64Array(D), alpha = new Float64Array(m);
  const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let j = 0; j < D; j++) s += a[j]! * b[j]!; return s; };
  const gmaxOf = (v: Float64Array) => { let s = 0; for (let j = 0; j < D; j++) s = Math.max(s, Math.abs(v[j]!)); return s; };
  let iterations = 0, converged = gmaxOf(g) <= gtol, stalls = 0;
  while (!converged && iterations < maxIter) {
    // Two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian estimate.
    for (let j = 0; j < D; j++) d[j] = -g[j]!;
    for (let k = S.length - 1; k >= 0; k--) { alpha[k] = rho[k]! * dot(S[k]!, d); const yk = Y[k]!; for (let j = 0; j < D; j++) d[j]! -= alpha[k]! * yk[j]!; }
    const H0 = opts.inverseDiagonal;
    if (H0) {
      // γ·diag with γ = s'y / y'·diag·y: the diagonal's shape, the latest pair's scale.
      let gamma = 1;
      if (S.length) {
        const yl = Y[Y.length - 1]!;
        let ydy = 0;
        for (let j = 0; j < D; j++) ydy += yl[j]! * H0[j]! * yl[j]!;
        gamma = dot(S[S.length - 1]!, yl) / ydy;
      }
      for (let j = 0; j < D; j++) d[j]! *= gamma * H0[j]!;
    } else {
      const gamma = S.length ? dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!) : 1 / Math.max(1, gmaxOf(g));
      for (let j = 0; j < D; j++) d[j]! *= gamma;
    }
    for (let k = 0; k < S.length; k++) { const beta = rho[k]! * dot(Y[k]!, d); const sk = S[k]!; for (let j = 0; j < D; j++) d[j]! += (alpha[k]! - beta) * sk[j]!; }
    let slope = dot(g, d);
    if (!(slope < 0)) { // not a descent direction (lost curvature): restart from steepest descent
      S.length = 0; Y.length = 0; rho.length = 0;
      for (let j = 0; j < D; j++) d[j] = -g[j]! / Math.max(1, gmaxOf(g));
      slope = dot(g, d);
    }
    // Near the optimum f stops resolving the decrease (it is ~‖g‖², below f's last digit), so a
    // step that leaves f equal to rounding and shrinks the gradient is accepted too.
    const gmax0 = gmaxOf(g), flat = 4 * Number.EPSILON * Math.max(1, Math.abs(f));
    let t = 1, fNew = f, ok = false;
    for (let k = 0; k < 40 && !ok; k++) {
      for (let j = 0; j < D; j++) xNew[j] = x[j]! + t * d[j]!;
      fNew = fg(xNew, gNew);
      ok = fNew <= f + 1e-4 * t * slope || (Math.abs(fNew - f) <= flat && gmaxOf(gNew) < gmax0);
      if (!ok) t /= 2;
    }
    iterations++;
    if (!ok) break; // no acceptable step at all: as good as this precision allows
    const s = new Float64Array(D), yv = new Float64Array(D);
    for (let j = 0; j < D; j++) { s[j] = xNew[j]! - x[j]!; yv[j] = gNew[j]! - g[j]!; }
    const sy = dot(s, yv);
    if (sy > 1e-300) {
      if (S.length === m) { S.shift(); Y.shift(); rho.shift(); }
      S.push(s); Y.push(yv); rho.push(1 / sy);
    }
    const gmax = gmaxOf(gNew);
    stalls = f - fNew <= flat && gmax >= gmax0 ? stalls + 1 : 0;
    x.set(xNew); g.set(gNew); f = fNew;
    opts.onIteration?.(iterations, f, gmax);
    converged = gmax <= gtol;
    if (stalls >= 3) break;
  }
  return { x, f, iterations, converged };
}
