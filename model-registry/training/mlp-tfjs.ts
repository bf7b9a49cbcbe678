// The only place that touches TensorFlow.js: loading it (tfjs-node when installed, pure-JS tfjs
// otherwise) and moving dense weights between a tfjs model and the plain arrays the registry
// stores. Serving compiles those plain arrays (../inference) and never imports tfjs.
import type * as TfNamespace from '@tensorflow/tfjs';
import type { Activation, DenseLayer, MlpNetwork } from '../inference/model-types.js';

export type Tf = typeof TfNamespace;
export type TfLayersModel = TfNamespace.LayersModel;

let loading: Promise<Tf> | null = null;

/** TensorFlow.js, once per process: the native tfjs-node backend if installed, else pure JS (cpu). */
export function loadTf(): Promise<Tf> {
  loading ??= (async () => {
    // A variable specifier keeps tsc and bundlers from requiring the optional package.
    const native = '@tensorflow/tfjs-node';
    let tf: Tf;
    try {
      const mod = (await import(native)) as { default?: Tf } & Tf;
      tf = mod.default ?? mod;
    } catch {
      const mod = (await import('@tensorflow/tfjs')) as { default?: Tf } & Tf;
      tf = mod.default ?? mod;
    }
    await tf.ready();
    // Pure tfjs greets its first tensor with an "install tfjs-node" banner on stderr, which
    // would break the CLI's progress bar; the model records its backend instead.
    const backend = tf.backend() as { firstUse?: boolean };
    if (backend.firstUse === true) backend.firstUse = false;
    return tf;
  })();
  return loading;
}

/** The dense layers of a tfjs model as plain arrays (kernel row-major inputs × units, as tfjs holds it). */
export function extractLayers(model: TfLayersModel, activations: readonly Activation[]): DenseLayer[] {
  return model.layers.map((layer, i) => {
    // getWeights() returns the variables themselves (no new tensors): read, never dispose.
    const [kernel, bias] = layer.getWeights();
    if (!kernel || !bias) throw new Error(`layer ${i} is not a dense layer with a bias`);
    return {
      weights: Array.from(kernel.dataSync()),
      bias: Array.from(bias.dataSync()),
      activation: activations[i] ?? 'linear',
    };
  });
}

/** A tfjs model with exactly the weights of `network` (inputs are expected already standardised). */
export function buildTfjsModel(tf: Tf, network: Pick<MlpNetwork, 'featureNames' | 'layers'>): TfLayersModel {
  const model = tf.sequential();
  network.layers.forEach((l, i) => {
    model.add(tf.layers.dense({
      units: l.bias.length,
      activation: l.activation,
      ...(i === 0 ? { inputShape: [network.featureNames.length] } : {}),
    }));
  });
  const values = network.layers.flatMap((l, i) => {
    const inputs = i === 0 ? network.featureNames.length : network.layers[i - 1]!.bias.length;
    return [tf.tensor2d(l.weights, [inputs, l.bias.length]), tf.tensor1d(l.bias)];
  });
  model.setWeights(values);   // copies into the model's variables
  tf.dispose(values);
  return model;
}
