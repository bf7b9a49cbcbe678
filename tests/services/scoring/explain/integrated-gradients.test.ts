// The kernel's backward pass against finite differences and TensorFlow.js's own gradients, and
// Integrated Gradients' completeness (Σφ = f(x) − f(baseline)) within 1e-3 on random networks.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../../../model-registry/inference/compile-model.js';
import { compileGradients, type GradientTarget } from '../../../../model-registry/inference/kernel-gradients.js';
import type { Activation, MlpNetwork } from '../../../../model-registry/inference/model-types.js';
import { buildTfjsModel, loadTf, type Tf } from '../../../../model-registry/training/mlp-tfjs.js';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import { createIntegratedGradients, quadrature } from '../../../../services/scoring/explain/integrated-gradients.js';
import { createLogisticShap } from '../../../../services/scoring/explain/shap-logistic.js';
import { randomLogistic, randomMlp, rowsAround } from './explain-fixtures.js';

const names = (d: number) => Array.from({ length: d }, (_, k) => `f${k}`);

const SHAPES: { d: number; hidden: number[]; activations: Activation[] }[] = [
  { d: 6, hidden: [8], activations: ['tanh', 'sigmoid'] },
  { d: 12, hidden: [16, 8], activations: ['relu', 'relu', 'sigmoid'] },
  { d: 9, hidden: [10, 6, 5], activations: ['relu', 'linear', 'sigmoid', 'linear'] },
  { d: 20, hidden: [32, 16], activations: ['tanh', 'relu', 'sigmoid'] },
];

describe('compileGradients', () => {
  it('matches central finite differences of the logit and of the output on random networks', () => {
    for (const [s, { d, hidden, activations }] of SHAPES.entries()) {
      const net = randomMlp(10 + s, names(d), hidden, activations);
      const n = 8;
      const rows = rowsAround(20 + s, net, n);
      for (const target of ['logit', 'output'] as GradientTarget[]) {
        const kernel = compileGradients(net, { target });
        const grad = new Float64Array(n * d);
        const values = new Float64Array(n);
        kernel.gradients(rows, n, grad, values);
        const f = (x: Float64Array) => { const l = new Float64Array(1), o = new Float64Array(1); kernel.evaluate(x, 1, l, o); return target === 'logit' ? l[0]! : o[0]!; };
        for (let r = 0; r < n; r++) {
          const x = rows.slice(r * d, (r + 1) * d);
          expect(values[r]).toBeCloseTo(f(x), 14);
          for (let i = 0; i < d; i++) {
            const h = 1e-6 * net.stds[i]!;
            const up = Float64Array.from(x); up[i]! += h;
            const down = Float64Array.from(x); down[i]! -= h;
            const fd = (f(up) - f(down)) / (2 * h);
            expect(Math.abs(fd - grad[r * d + i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
          }
        }
      }
      // Its forward pass is the serving kernel's.
      const scores = new Float64Array(n);
      compileGradients(net).evaluate(rows, n, new Float64Array(n), scores);
      const served = compileModel(net).predict(rows, n);
      for (let r = 0; r < n; r++) expect(scores[r]).toBe(served[r]);
    }
  });

  it('equals TensorFlow.js gradients of the pre-sigmoid output', async () => {
    const tf: Tf = await loadTf();
    for (const [s, { d, hidden, activations }] of SHAPES.entries()) {
      const net = randomMlp(30 + s, names(d), hidden, activations);
      const n = 16;
      const rows = rowsAround(40 + s, net, n);
      // tfjs sees standardised inputs and a linear last layer: its gradient is ∂logit/∂z.
      const logitNet: MlpNetwork = { ...net, layers: net.layers.map((l, i) => (i === net.layers.length - 1 ? { ...l, activation: 'linear' } : l)) };
      const model = buildTfjsModel(tf, logitNet);
      const z = Float32Array.from(rows, (v, i) => (v - net.means[i % d]!) / net.stds[i % d]!);
      const expected = tf.tidy(() => {
        const g = tf.grad((input) => (model.apply(input) as ReturnType<Tf['tensor2d']>).sum());
        return g(tf.tensor2d(z, [n, d])).dataSync();
      });
      model.dispose();
      const grad = new Float64Array(n * d);
      compileGradients(net).gradients(rows, n, grad);
      for (let i = 0; i < n * d; i++) {
        const dz = grad[i]! * net.stds[i % d]!;   // ∂/∂x · std = ∂/∂z
        expect(Math.abs(dz - expected[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]!)));
      }
    }
  });

  it('integrates a path kink to kink exactly as one midpoint gradient per piece between the breakpoints', () => {
    // Three hidden layers (relu, relu, linear) and far-away rows: flips in every layer, past one resync (64 pieces).
    const d = 10;
    const net = randomMlp(61, names(d), [96, 48, 8], ['relu', 'relu', 'linear', 'sigmoid']);
    const n = 12;
    const rows = rowsAround(62, net, n).map((v, i) => net.means[i % d]! + 10 * (v - net.means[i % d]!));
    const kernel = compileGradients(net);
    expect(kernel.piecewiseLinear).toBe(true);
    const bps: number[] = [];
    let most = 0;
    for (let r = 0; r < n; r++) {
      const got = new Float64Array(d + 2);
      const pieces = kernel.integratePath(net.means, 0, rows, r * d, got, 1);
      expect(kernel.pathBreakpoints(net.means, 0, rows, r * d, bps)).toBe(true);
      expect(pieces).toBe(bps.length + 1);
      most = Math.max(most, pieces);
      const edges = [0, ...bps, 1];
      const mids = edges.slice(1).flatMap((b, e) => {
        const a = (edges[e]! + b) / 2;
        return Array.from({ length: d }, (_, i) => net.means[i]! + a * (rows[r * d + i]! - net.means[i]!));
      });
      const grads = new Float64Array(mids.length);
      kernel.gradients(mids, edges.length - 1, grads);
      for (let i = 0; i < d; i++) {
        let want = 0;
        for (let e = 0; e + 1 < edges.length; e++) want += (edges[e + 1]! - edges[e]!) * grads[e * d + i]!;
        expect(Math.abs(got[1 + i]! - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      }
      expect(got[0]).toBe(0);
      expect(got[d + 1]).toBe(0);
    }
    expect(most).toBeGreaterThan(64);
    expect(kernel.integratePath(net.means, 0, rows, 0, new Float64Array(d), 0, 3)).toBe(-1);
  });

  it('gives a logistic model the constant gradient coef / std', () => {
    const m = randomLogistic(2, names(5));
    const grad = new Float64Array(2 * 5);
    compileGradients(m).gradients(rowsAround(1, m, 2), 2, grad);
    for (let i = 0; i < 10; i++) expect(grad[i]).toBeCloseTo(m.coef[i % 5]! / (m.stds[i % 5]! || 1), 14);
  });
});

describe('quadrature', () => {
  it('trapezoid weights sum to 1 over evenly spaced nodes; Gauss–Legendre integrates degree 2m − 1 exactly', () => {
    const t = quadrature('trapezoid', 4);
    expect(Array.from(t.nodes)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(t.weights)).toEqual([0.125, 0.25, 0.25, 0.25, 0.125]);
    for (const m of [1, 2, 5, 16, 64]) {
      const { nodes, weights } = quadrature('gauss-legendre', m);
      for (let p = 0; p <= 2 * m - 1; p++) {
        let sum = 0;
        for (let k = 0; k < m; k++) sum += weights[k]! * nodes[k]! ** p;
        expect(Math.abs(sum - 1 / (p + 1))).toBeLessThan(1e-13);
      }
    }
    expect(() => quadrature('trapezoid', 0)).toThrow(ValidationError);
  });
});

describe('createIntegratedGradients', () => {
  it('is complete to 1e-3 on random networks with the default settings', () => {
    let worst = 0;
    for (const [s, { d, hidden, activations }] of SHAPES.entries()) {
      for (let rep = 0; rep < 3; rep++) {
        const net = randomMlp(100 + 10 * s + rep, names(d), hidden, activations);
        const n = 50;
        const rows = rowsAround(200 + 10 * s + rep, net, n);
        const ig = createIntegratedGradients(net);
        expect(ig.rule).toBe(activations.slice(0, -1).every((a) => a === 'relu' || a === 'linear') ? 'exact'
          : activations.slice(0, -1).includes('relu') ? 'trapezoid' : 'gauss-legendre');
        const phi = new Float64Array(n * d), logits = new Float64Array(n), gaps = new Float64Array(n);
        ig.explain(rows, n, { phi, logits, completenessErrors: gaps });
        const l = new Float64Array(1);
        compileGradients(net).evaluate(net.means, 1, l);
        expect(ig.base).toBe(l[0]);
        for (let r = 0; r < n; r++) {
          let sum = 0;
          for (let i = 0; i < d; i++) sum += phi[r * d + i]!;
          const gap = Math.abs(sum - (logits[r]! - ig.base));
          expect(gaps[r]).toBeCloseTo(gap, 12);
          expect(gap).toBeLessThan(1e-3);
          worst = Math.max(worst, gap);
        }
      }
    }
    expect(worst).toBeGreaterThan(0);   // a real integral, not a forced sum
  });

  it('integrates ReLU networks exactly, one gradient per linear piece between the kinks', () => {
    const { d, hidden, activations } = SHAPES[1]!;
    const net = randomMlp(111, names(d), hidden, activations);
    const n = 30;
    const rows = rowsAround(211, net, n);
    const exact = { phi: new Float64Array(n * d), gaps: new Float64Array(n), pieces: new Int32Array(n) };
    createIntegratedGradients(net, { rule: 'exact' }).explain(rows, n, { phi: exact.phi, logits: new Float64Array(n), completenessErrors: exact.gaps, stepsUsed: exact.pieces });
    const fine = new Float64Array(n * d);
    createIntegratedGradients(net, { rule: 'trapezoid', steps: 4096, tolerance: Infinity, maxSteps: 4096 }).explain(rows, n, { phi: fine, logits: new Float64Array(n) });
    for (let r = 0; r < n; r++) expect(exact.gaps[r]).toBeLessThan(1e-9);
    for (let i = 0; i < n * d; i++) expect(Math.abs(exact.phi[i]! - fine[i]!)).toBeLessThan(2e-4 * Math.max(1, Math.abs(fine[i]!)));
    expect(Math.max(...exact.pieces)).toBeGreaterThan(5);

    // Between consecutive breakpoints the logit is linear in α: three points on each piece are collinear.
    const kernel = compileGradients(net);
    const at = (r: number, a: number) => {
      const x = Float64Array.from({ length: d }, (_, i) => net.means[i]! + a * (rows[r * d + i]! - net.means[i]!));
      const l = new Float64Array(1); kernel.evaluate(x, 1, l); return l[0]!;
    };
    const bps: number[] = [];
    for (let r = 0; r < 5; r++) {
      expect(kernel.pathBreakpoints(net.means, 0, rows, r * d, bps)).toBe(true);
      const edges = [0, ...bps, 1];
      for (let e = 0; e + 1 < edges.length; e++) {
        const a = edges[e]!, b = edges[e + 1]!;
        expect(b).toBeGreaterThan(a);
        const [f1, f2, f3] = [at(r, a + 0.2 * (b - a)), at(r, a + 0.5 * (b - a)), at(r, a + 0.8 * (b - a))];
        expect(Math.abs((f2 - f1) - (f3 - f2))).toBeLessThan(1e-9 * (1 + Math.abs(f1)));
      }
    }
    expect(() => compileGradients(randomMlp(1, names(3), [4], ['tanh', 'sigmoid'])).pathBreakpoints([0, 0, 0], 0, [1, 1, 1], 0, [])).toThrow(ValidationError);
    expect(() => createIntegratedGradients(randomMlp(1, names(3), [4], ['tanh', 'sigmoid']), { rule: 'exact' })).toThrow(ValidationError);
  });

  it('refines only the rows whose gap exceeds the tolerance, and without refinement reports the larger gap', () => {
    const { d, hidden, activations } = SHAPES[1]!;   // ReLU: the gradient jumps along the path
    const net = randomMlp(111, names(d), hidden, activations);
    const n = 50;
    const rows = rowsAround(211, net, n);
    const run = (tolerance?: number) => {
      const phi = new Float64Array(n * d), gaps = new Float64Array(n), stepsUsed = new Int32Array(n);
      createIntegratedGradients(net, { rule: 'trapezoid', maxSteps: 4096, ...(tolerance === undefined ? {} : { tolerance }) }).explain(rows, n, { phi, logits: new Float64Array(n), completenessErrors: gaps, stepsUsed });
      return { phi, gaps, stepsUsed };
    };
    const plain = run(Infinity);
    const refined = run();
    expect(plain.stepsUsed.every((s) => s === 64)).toBe(true);
    const coarse = [...plain.gaps.keys()].filter((r) => plain.gaps[r]! > 1e-3);
    expect(coarse.length).toBeGreaterThan(0);
    for (let r = 0; r < n; r++) {
      expect(refined.gaps[r]).toBeLessThanOrEqual(1e-3);
      if (plain.gaps[r]! <= 1e-3) {
        expect(refined.stepsUsed[r]).toBe(64);
        expect(refined.phi.subarray(r * d, (r + 1) * d)).toEqual(plain.phi.subarray(r * d, (r + 1) * d));
      } else {
        expect(refined.stepsUsed[r]).toBeGreaterThan(64);
      }
    }
  });

  it('converges to the same attributions under both rules, Gauss–Legendre faster on smooth networks', () => {
    const net = randomMlp(7, names(8), [12, 6], ['tanh', 'tanh', 'sigmoid']);
    const n = 20, d = 8;
    const rows = rowsAround(8, net, n);
    const run = (rule: 'trapezoid' | 'gauss-legendre', steps: number) => {
      const phi = new Float64Array(n * d), gaps = new Float64Array(n);
      createIntegratedGradients(net, { rule, steps }).explain(rows, n, { phi, logits: new Float64Array(n), completenessErrors: gaps });
      return { phi, worst: Math.max(...gaps) };
    };
    const reference = run('gauss-legendre', 256);
    const gl = run('gauss-legendre', 16);
    const trap = run('trapezoid', 64);
    for (let i = 0; i < n * d; i++) {
      expect(Math.abs(gl.phi[i]! - reference.phi[i]!)).toBeLessThan(1e-6);
      expect(Math.abs(trap.phi[i]! - reference.phi[i]!)).toBeLessThan(1e-3);
    }
    expect(gl.worst).toBeLessThan(trap.worst);
    expect(reference.worst).toBeLessThan(1e-9);
  });

  it('equals exact SHAP on a logistic model and gives a feature at its mean nothing', () => {
    const m = randomLogistic(5, names(6));
    const n = 10;
    const rows = rowsAround(6, m, n);
    for (let r = 0; r < n; r++) rows[r * 6 + 2] = m.means[2]!;
    const igPhi = new Float64Array(n * 6), shapPhi = new Float64Array(n * 6);
    createIntegratedGradients(m, { steps: 4 }).explain(rows, n, { phi: igPhi, logits: new Float64Array(n) });
    createLogisticShap(m).explain(rows, n, { phi: shapPhi, logits: new Float64Array(n) });
    for (let i = 0; i < n * 6; i++) expect(igPhi[i]).toBeCloseTo(shapPhi[i]!, 12);
    for (let r = 0; r < n; r++) expect(igPhi[r * 6 + 2]).toBe(0);
  });

  it('explains a batch larger than one chunk exactly as row by row', () => {
    const net = randomMlp(9, names(5), [6], ['relu', 'sigmoid']);
    const n = 130;   // 65 path points each: two full chunks and a remainder
    const rows = rowsAround(10, net, n);
    const ig = createIntegratedGradients(net);
    const phi = new Float64Array(n * 5), logits = new Float64Array(n), scores = new Float64Array(n);
    ig.explain(rows, n, { phi, logits, scores });
    const served = compileModel(net).predict(rows, n);
    for (const r of [0, 62, 63, 64, 127, 129]) {
      const one = new Float64Array(5);
      ig.explain(rows.subarray(r * 5, (r + 1) * 5), 1, { phi: one, logits: new Float64Array(1) });
      expect(Array.from(one)).toEqual(Array.from(phi.subarray(r * 5, (r + 1) * 5)));
      expect(scores[r]).toBe(served[r]);
    }
    expect(() => ig.explain(rows, n, { phi: new Float64Array(5), logits })).toThrow(ValidationError);
  });
});
