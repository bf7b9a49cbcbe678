// Hand checks of a model's serving shape, so a corrupt or hand-edited artifact fails with the
// exact field named instead of producing NaN scores: sizes chain layer to layer, lengths match,
// every number is finite.
import { ValidationError, type FieldProblem } from '../../platform/errors/app-error.js';
import { ACTIVATIONS, type ServableModel } from './model-types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks `value` is a logistic or MLP model the kernel can serve; throws ValidationError naming each bad field. */
export function validateModel(value: unknown, path = '/model'): ServableModel {
  const problems: FieldProblem[] = [];
  const bad = (p: string, message: string) => problems.push({ path: `${path}${p}`, message });
  const numbers = (v: unknown, p: string, length?: number): v is number[] => {
    if (!Array.isArray(v)) { bad(p, 'must be an array of numbers'); return false; }
    if (length !== undefined && v.length !== length) { bad(p, `must have ${length} values, has ${v.length}`); return false; }
    const i = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (i >= 0) { bad(`${p}/${i}`, 'must be a finite number'); return false; }
    return true;
  };

  if (!isRecord(value)) throw new ValidationError('model must be an object', [{ path, message: 'must be an object' }]);
  const names = value.featureNames;
  let d = 0;
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) {
    bad('/featureNames', 'must be a non-empty array of strings');
  } else {
    d = names.length;
    if (new Set(names).size !== d) bad('/featureNames', 'must not repeat a name');
  }
  if (d > 0) {
    numbers(value.means, '/means', d);
    if (numbers(value.stds, '/stds', d)) {
      const i = (value.stds as number[]).findIndex((s) => s < 0);
      if (i >= 0) bad(`/stds/${i}`, 'must not be negative');
    }
  }

  if (value.kind === 'logistic') {
    if (d > 0) numbers(value.coef, '/coef', d);
    if (typeof value.intercept !== 'number' || !Number.isFinite(value.intercept)) bad('/intercept', 'must be a finite number');
  } else if (value.kind === 'mlp') {
    const layers = value.layers;
    if (!Array.isArray(layers) || layers.length === 0) {
      bad('/layers', 'must be a non-empty array of layers');
    } else if (d > 0) {
      let inputs = d;
      for (let l = 0; l < layers.length; l++) {
        const layer: unknown = layers[l];
        const p = `/layers/${l}`;
        if (!isRecord(layer)) { bad(p, 'must be an object'); break; }
        if (!ACTIVATIONS.includes(layer.activation as never)) bad(`${p}/activation`, `must be one of ${ACTIVATIONS.join(', ')}`);
        if (!numbers(layer.bias, `${p}/bias`)) break;
        if (layer.bias.length === 0) { bad(`${p}/bias`, 'must have at least one unit'); break; }
        const units = layer.bias.length;
        // Row-major inputs × units: the previous layer's units (or the feature count) fix `inputs`.
        if (!numbers(layer.weights, `${p}/weights`, inputs * units)) break;
        inputs = units;
      }
      if (problems.length === 0 && inputs !== 1) bad(`/layers/${layers.length - 1}/bias`, `the last layer must have 1 unit, has ${inputs}`);
    }
  } else {
    bad('/kind', "must be 'logistic' or 'mlp'");
  }

  if (problems.length > 0) {
    throw new ValidationError(`invalid model: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  }
  return value as unknown as ServableModel;
}
