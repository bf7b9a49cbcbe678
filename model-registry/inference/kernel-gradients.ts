// The serving kernel's backward pass, for explanations (Integrated Gradients): the same compiled
// layers as compile-model.ts, run forward keeping every layer's output, then back through each
// dense layer and its activation to the raw inputs. A batch of rows (for IG, the points along
// every candidate's path) goes through in one loop nest over buffers that only grow, so a request
// allocates nothing per row. float64 throughout, like the forward kernel.
// For ReLU networks the logit is piecewise linear along a straight path; `integratePath` walks it
// kink to kink (IG exactly, no quadrature) and `pathBreakpoints` lists the kinks by recomputing the
// network at each (slower; the reference the walk is tested against).
import { ValidationError } from '../../platform/errors/app-error.js';
import type { Activation } from './model-types.js';
import { activate, compileLayers, denseForward } from './compile-model.js';
import { validateModel } from './validate-model.js';

/** 'logit': the last layer's pre-activation (log-odds for a sigmoid output); 'output': the score itself. */
export type GradientTarget = 'logit' | 'output';

export interface KernelGradients {
  readonly featureNames: readonly string[];
  readonly inputSize: number;
  readonly target: GradientTarget;
  /** Every hidden activation is relu or linear: the logit is piecewise linear in the inputs (a logistic model too). */
  readonly piecewiseLinear: boolean;
  /**
   * For n raw rows (row-major n × inputSize, in featureNames order) writes ∂target/∂x of each row
   * into `grad` (n × inputSize), and the target's value per row into `values` when given (≥ n).
   */
  gradients(rows: ArrayLike<number>, n: number, grad: Float64Array, values?: Float64Array): void;
  /** Forward only: the last layer's pre-activation into `logits` and, when given, the score into `scores`. */
  evaluate(rows: ArrayLike<number>, n: number, logits: Float64Array, scores?: Float64Array): void;
  /**
   * Piecewise-linear networks only: the points α in (0, 1), ascending, where the straight path
   * from raw row `from` (offset `fromAt`) to raw row `to` (offset `toAt`) crosses a ReLU kink, so
   * the logit is linear between consecutive ones. Written into `out` (cleared first); returns
   * false when more than `limit` (default 100 000) would be needed.
   */
  pathBreakpoints(from: ArrayLike<number>, fromAt: number, to: ArrayLike<number>, toAt: number, out: number[], limit?: number): boolean;
  /**
   * Piecewise-linear networks only: ∫₀¹ ∂logit/∂x dα along the straight path from raw row `from`
   * to raw row `to`, exactly (the gradient is constant on each linear piece), written into
   * `out[outAt … outAt + inputSize)`. Walks the kinks updating values, slopes and the gradient
   * incrementally (a flip touches one unit's row and column, not the whole network). Returns the
   * number of linear pieces, or −1 (out unspecified) past `limit` (default 100 000) kinks.
   */
  integratePath(from: ArrayLike<number>, fromAt: number, to: ArrayLike<number>, toAt: number, out: Float64Array, outAt: number, limit?: number): number;
}


/** Multiplies `g` by the activation's derivative, read from the activation's output `y` (relu′(0) = 0, as tfjs). */
function timesDerivative(g: Float64Array, y: Float64Array, length: number, activation: Activation): void {
  switch (activation) {
    case 'relu': for (let i = 0; i < length; i++) if (!(y[i]! > 0)) g[i] = 0; break;
    case 'tanh': for (let i = 0; i < length; i++) g[i] = g[i]! * (1 - y[i]! * y[i]!); break;
    case 'sigmoid': for (let i = 0; i < length; i++) g[i] = g[i]! * y[i]! * (1 - y[i]!); break;
    case 'linear': break;
  }
}

function checkBatch(rows: ArrayLike<number>, n: number, d: number): void {
  if (!Number.isInteger(n) || n < 0) throw new ValidationError('n must be a non-negative integer', [{ path: 'n', message: 'must be a non-negative integer' }]);
  if (rows.length < n * d) throw new ValidationError(`rows holds ${rows.length} values, ${n} rows need ${n * d}`, [{ path: 'rows', message: `must hold n × ${d} values` }]);
}

function checkOut(buf: Float64Array | undefined, need: number, path: string): void {
  if (buf && buf.length < need) throw new ValidationError(`${path} holds ${buf.length} values, needs ${need}`, [{ path, message: 'too short' }]);
}

/** Validates `model` (logistic or MLP) and compiles its forward-and-backward pass. */
export function compileGradients(model: unknown, opts: { target?: GradientTarget } = {}): KernelGradients {
  const m = validateModel(model);
  const target = opts.target ?? 'logit';
  const { d, means, invStds, layers } = compileLayers(m);
  const last = layers.length - 1;
  const widest = Math.max(d, ...layers.map((l) => l.units));

  // acts[0] holds the standardised inputs, acts[l + 1] layer l's output; logitBuf the last
  // layer's pre-activation. Two backward buffers ping-pong. All grow (never shrink) on a bigger batch.
  let capacity = 0;
  let acts: Float64Array[] = [];
  let logitBuf = new Float64Array(0);
  let backA = new Float64Array(0);
  let backB = new Float64Array(0);
  const ensure = (n: number) => {
    if (n <= capacity) return;
    capacity = Math.max(n, capacity * 2, 16);
    acts = [new Float64Array(capacity * d), ...layers.map((l) => new Float64Array(capacity * l.units))];
    logitBuf = new Float64Array(capacity);
    backA = new Float64Array(capacity * widest);
    backB = new Float64Array(capacity * widest);
  };

  function forward(rows: ArrayLike<number>, n: number): void {
    ensure(n);
    const z = acts[0]!;
    for (let r = 0, o = 0; r < n; r++) {
      for (let k = 0; k < d; k++, o++) z[o] = (rows[o]! - means[k]!) * invStds[k]!;
    }
    layers.forEach((layer, l) => {
      const dst = acts[l + 1]!;
      denseForward(layer, acts[l]!, dst, n);
      if (l === last) logitBuf.set(dst.subarray(0, n));   // the last layer has one unit
      activate(dst, n * layer.units, layer.activation);
    });
  }

  const hidden = layers.slice(0, last);
  const piecewiseLinear = hidden.every((l) => l.activation === 'relu' || l.activation === 'linear');
  // The path walk's scratch: each hidden layer's values and slopes along the path, per unit.
  const walkH = [new Float64Array(d), ...hidden.map((l) => new Float64Array(l.units))];
  const walkS = [new Float64Array(d), ...hidden.map((l) => new Float64Array(l.units))];
  const z0 = new Float64Array(d);
  const dz = new Float64Array(d);

  /**
   * From α on the path, the distance to the next kink. Within one linear region every
   * pre-activation is a + t·a′; a unit on a kink (|a| within rounding) takes the side its slope
   * leads to, so the walk never stalls on the kink it just crossed.
   */
  function nextKink(alpha: number): number {
    const h0 = walkH[0]!, s0 = walkS[0]!;
    for (let k = 0; k < d; k++) { h0[k] = z0[k]! + alpha * dz[k]!; s0[k] = dz[k]!; }
    let t = Infinity;
    hidden.forEach(({ inputs, units, weights, bias, activation }, l) => {
      const h = walkH[l]!, sl = walkS[l]!, outH = walkH[l + 1]!, outS = walkS[l + 1]!;
      for (let j = 0, w = 0; j < units; j++) {
        let a = bias[j]!, slope = 0, scale = Math.abs(a);
        for (let i = 0; i < inputs; i++, w++) {
          const wi = weights[w]!;
          a += wi * h[i]!; slope += wi * sl[i]!; scale += Math.abs(wi * h[i]!);
        }
        if (activation === 'relu') {
          const eps = 1e-12 * (1 + scale);
          const active = a > eps || (a >= -eps && slope > 0);
          if ((active && a > eps && slope < 0) || (!active && a < -eps && slope > 0)) t = Math.min(t, -a / slope);
          outH[j] = active ? a : 0; outS[j] = active ? slope : 0;
        } else {
          outH[j] = a; outS[j] = slope;
        }
      }
    });
    return t;
  }

  // The incremental walk's state per hidden layer: pre-activations `a`, their slopes along the
  // path `sl`, the relu pattern `on`, ∂logit/∂(layer output) `u` and ∂logit/∂a `delta`; `gz` is
  // ∂logit/∂z. Scratch `dA`/`dB` carries a change from layer to layer.
  const H = hidden.length;
  const wa = hidden.map((l) => new Float64Array(l.units));
  const wsl = hidden.map((l) => new Float64Array(l.units));
  const won = hidden.map((l) => new Uint8Array(l.units));
  const wu = hidden.map((l) => new Float64Array(l.units));
  const wdelta = hidden.map((l) => new Float64Array(l.units));
  const gz = new Float64Array(d);
  const dA = new Float64Array(widest);
  const dB = new Float64Array(widest);
  const RESYNC = 64;   // pieces between full recomputations, so incremental rounding cannot drift

  /** Values, slopes (and, at the start, the pattern) of every hidden layer at α, from scratch. */
  function walkForward(alpha: number, choosePattern: boolean): void {
    let hIn = walkH[0]!, sIn = walkS[0]!;
    for (let k = 0; k < d; k++) { hIn[k] = z0[k]! + alpha * dz[k]!; sIn[k] = dz[k]!; }
    for (let l = 0; l < H; l++) {
      const { inputs, units, weights, bias, activation } = hidden[l]!;
      const a = wa[l]!, sl = wsl[l]!, on = won[l]!, hOut = walkH[l + 1]!, sOut = walkS[l + 1]!;
      for (let j = 0, w = 0; j < units; j++) {
        let acc = bias[j]!, slope = 0, scale = Math.abs(acc);
        for (let i = 0; i < inputs; i++, w++) { const wi = weights[w]!; acc += wi * hIn[i]!; slope += wi * sIn[i]!; scale += Math.abs(wi * hIn[i]!); }
        a[j] = acc; sl[j] = slope;
        if (activation !== 'relu') on[j] = 1;
        else if (choosePattern) {
          // A unit on its kink (within rounding) takes the side its slope leads to.
          const eps = 1e-12 * (1 + scale);
          on[j] = acc > eps || (acc >= -eps && slope > 0) ? 1 : 0;
        }
        hOut[j] = on[j] ? acc : 0; sOut[j] = on[j] ? slope : 0;
      }
      hIn = hOut; sIn = sOut;
    }
  }

  /** u, delta and gz for the current pattern, from scratch. */
  function walkBackward(): void {
    const out = layers[last]!;   // one unit: ∂logit/∂h of the last hidden layer is its weight row
    let down: Float64Array = out.weights;
    for (let l = H - 1; l >= 0; l--) {
      const u = wu[l]!, delta = wdelta[l]!, on = won[l]!;
      const { units } = hidden[l]!;
      for (let j = 0; j < units; j++) { u[j] = down[j]!; delta[j] = on[j] ? down[j]! : 0; }
      // ∂logit/∂(input of layer l) = W_lᵀ delta.
      const { inputs, weights } = hidden[l]!;
      const next = l > 0 ? dA : gz;
      next.fill(0, 0, inputs);
      for (let j = 0, w = 0; j < units; j++) {
        const dj = delta[j]!;
        if (dj === 0) { w += inputs; continue; }
        for (let i = 0; i < inputs; i++, w++) next[i] = next[i]! + dj * weights[w]!;
      }
      if (l > 0) { dB.set(dA.subarray(0, inputs)); down = dB; }
    }
    if (H === 0) gz.set(out.weights);
  }

  /** Unit j of hidden layer l changes side: slopes downstream and the gradient upstream move by rank-one updates. */
  function flip(l: number, j: number): void {
    const on = won[l]!;
    on[j] = on[j] ? 0 : 1;
    const sign = on[j] ? 1 : -1;
    // Forward: the unit's output slope changes by ±slope; carry it through the later hidden layers.
    let change = dA;
    let width = 1;
    change[0] = sign * wsl[l]![j]!;
    let col = j;   // for layer l + 1 the change is one input, column j
    for (let m = l + 1; m < H; m++) {
      const { inputs, units, weights } = hidden[m]!;
      const sl = wsl[m]!, onM = won[m]!;
      const next = change === dA ? dB : dA;
      for (let k = 0; k < units; k++) {
        let ds = 0;
        if (width === 1 && col >= 0) ds = weights[k * inputs + col]! * change[0]!;
        else for (let i = 0; i < inputs; i++) ds += weights[k * inputs + i]! * change[i]!;
        sl[k] = sl[k]! + ds;
        next[k] = onM[k] ? ds : 0;
      }
      change = next; width = units; col = -1;
    }
    // Backward: delta_l[j] becomes on·u_l[j]; carry the change down to ∂logit/∂z.
    const dd = sign * wu[l]![j]!;
    wdelta[l]![j] = on[j] ? wu[l]![j]! : 0;
    if (dd === 0) return;
    // Δ(∂logit/∂input of layer l) = row j of W_l times dd.
    const { inputs, weights } = hidden[l]!;
    let dIn = dA;
    if (l === 0) { for (let i = 0, w = j * inputs; i < inputs; i++, w++) gz[i] = gz[i]! + dd * weights[w]!; return; }
    for (let i = 0, w = j * inputs; i < inputs; i++, w++) dIn[i] = dd * weights[w]!;
    for (let m = l - 1; m >= 0; m--) {
      const { inputs: mi, units: mu, weights: mw } = hidden[m]!;
      const u = wu[m]!, delta = wdelta[m]!, onM = won[m]!;
      const target = m > 0 ? (dIn === dA ? dB : dA) : gz;
      if (m > 0) target.fill(0, 0, mi);
      for (let k = 0, w = 0; k < mu; k++) {
        const du = dIn[k]!;
        u[k] = u[k]! + du;
        if (!onM[k] || du === 0) { w += mi; continue; }
        delta[k] = delta[k]! + du;
        for (let i = 0; i < mi; i++, w++) target[i] = target[i]! + du * mw[w]!;
      }
      dIn = target;
    }
  }

  return {
    featureNames: m.featureNames,
    inputSize: d,
    target,
    piecewiseLinear,
    integratePath(from, fromAt, to, toAt, out, outAt, limit = 100_000) {
      if (!piecewiseLinear) throw new ValidationError('path integrals need a network whose hidden activations are relu or linear', [{ path: '/model/layers', message: 'has tanh or sigmoid hidden layers' }]);
      for (let k = 0; k < d; k++) {
        z0[k] = (from[fromAt + k]! - means[k]!) * invStds[k]!;
        dz[k] = (to[toAt + k]! - from[fromAt + k]!) * invStds[k]!;
      }
      walkForward(0, true);
      walkBackward();
      out.fill(0, outAt, outAt + d);
      let alpha = 0;
      let pieces = 0;
      for (;;) {
        pieces++;
        // The nearest kink ahead: an active unit falling to 0 or an inactive one rising to it.
        let t = Infinity, kl = -1, kj = -1;
        for (let l = 0; l < H; l++) {
          if (hidden[l]!.activation !== 'relu') continue;
          const a = wa[l]!, sl = wsl[l]!, on = won[l]!;
          for (let j = 0; j < a.length; j++) {
            const slope = sl[j]!;
            if (on[j] ? slope < 0 : slope > 0) {
              const tj = -a[j]! / slope;
              if (tj < t) { t = tj; kl = l; kj = j; }
            }
          }
        }
        if (t < 0) t = 0;   // a unit a hair past its kink (rounding): flip it now
        const len = Math.min(t, 1 - alpha);
        for (let k = 0; k < d; k++) out[outAt + k] = out[outAt + k]! + len * gz[k]!;
        if (!(alpha + t < 1)) break;
        if (pieces > limit) return -1;
        alpha += t;
        if (pieces % RESYNC === 0) walkForward(alpha, false);
        else for (let l = 0; l < H; l++) { const a = wa[l]!, sl = wsl[l]!; for (let j = 0; j < a.length; j++) a[j] = a[j]! + t * sl[j]!; }
        wa[kl]![kj] = 0;   // the crossing unit sits on its kink
        flip(kl, kj);
        if (pieces % RESYNC === 0) walkBackward();
      }
      for (let k = 0; k < d; k++) out[outAt + k] = out[outAt + k]! * invStds[k]!;
      return pieces;
    },
    pathBreakpoints(from, fromAt, to, toAt, out, limit = 100_000) {
      if (!piecewiseLinear) throw new ValidationError('path breakpoints need a network whose hidden activations are relu or linear', [{ path: '/model/layers', message: 'has tanh or sigmoid hidden layers' }]);
      for (let k = 0; k < d; k++) {
        z0[k] = (from[fromAt + k]! - means[k]!) * invStds[k]!;
        dz[k] = (to[toAt + k]! - from[fromAt + k]!) * invStds[k]!;
      }
      out.length = 0;
      let alpha = 0;
      for (;;) {
        const next = alpha + nextKink(alpha);
        if (!(next < 1)) return true;
        if (out.length >= limit) return false;
        // Rounding can put the next kink at (or a hair before) the current one: always move on.
        alpha = next > alpha ? next : alpha + 1e-15;
        out.push(alpha);
      }
    },
    evaluate(rows, n, logits, scores) {
      checkBatch(rows, n, d);
      checkOut(logits, n, 'logits');
      checkOut(scores, n, 'scores');
      forward(rows, n);
      logits.set(logitBuf.subarray(0, n));
      scores?.set(acts[last + 1]!.subarray(0, n));
    },
    gradients(rows, n, grad, values) {
      checkBatch(rows, n, d);
      checkOut(grad, n * d, 'grad');
      checkOut(values, n, 'values');
      forward(rows, n);
      const out = acts[last + 1]!;
      if (values) values.set((target === 'logit' ? logitBuf : out).subarray(0, n));
      // delta: ∂target/∂(pre-activation) of the current layer's units, n × units.
      let delta = backA;
      let gin = backB;
      delta.fill(1, 0, n);
      if (target === 'output') timesDerivative(delta, out, n, layers[last]!.activation);
      for (let l = last; l >= 0; l--) {
        const { inputs, units, weights } = layers[l]!;
        gin.fill(0, 0, n * inputs);
        for (let r = 0; r < n; r++) {
          const inBase = r * inputs;
          for (let j = 0, w = 0; j < units; j++) {
            const dj = delta[r * units + j]!;
            if (dj === 0) { w += inputs; continue; }   // a dead relu unit passes nothing back
            for (let i = 0; i < inputs; i++, w++) gin[inBase + i] = gin[inBase + i]! + dj * weights[w]!;
          }
        }
        if (l > 0) timesDerivative(gin, acts[l]!, n * inputs, layers[l - 1]!.activation);
        const t = delta; delta = gin; gin = t;
      }
      // delta now holds ∂target/∂z; z = (x − mean) / std.
      for (let r = 0, o = 0; r < n; r++) {
        for (let k = 0; k < d; k++, o++) grad[o] = delta[o]! * invStds[k]!;
      }
    },
  };
}
