// The plain, serialisable shapes of a trained model: what training produces, what an artifact
// stores and what the serving kernel compiles. Plain arrays only, so serving never needs tfjs.
import type { TableEncoding } from '../training/encode-table.js';

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'linear'];

/** A dense layer: y = activation(x · W + b), W row-major inputs × units (tfjs's kernel layout). */
export interface DenseLayer {
  weights: number[];
  bias: number[];
  activation: Activation;
}

/** Inputs are standardised as (x − mean) / std before the first layer (std 0 counts as 1). */
export interface Standardised {
  featureNames: string[];
  means: number[];
  stds: number[];
}

/** loss: mean training objective of the epoch (log loss + L2 penalty); valLoss: log loss on the validation rows. */
export interface MlpHistoryEntry { epoch: number; loss: number; valLoss: number | null }

/** What the kernel needs of a network; a trained MlpModel carries its training record too. */
export interface MlpNetwork extends Standardised {
  kind: 'mlp';
  /** Hidden layers then one unit (sigmoid for a trained model: the output is a probability). */
  layers: DenseLayer[];
}

export interface MlpModel extends MlpNetwork {
  hyperparameters: {
    hidden: number[]; activation: 'relu' | 'tanh'; l2: number; learningRate: number;
    epochs: number; batchSize: number; patience: number; seed: number;
    /** Share of the last rows held out; null when the caller gave validation indices. */
    validationFraction: number | null;
  };
  history: MlpHistoryEntry[];
  /** The last epoch that ran (1-based); the weights are those of `bestEpoch`. */
  stoppedEpoch: number;
  bestEpoch: number;
  trainRows: number;
  validationRows: number;
  /** Which tfjs backend trained it ('tensorflow' with tfjs-node, 'cpu' with pure tfjs). */
  backend: string;
  /** How raw feature values become the inputs, when the design came from encodeTable. */
  encoding?: TableEncoding;
}

/** The part of a logistic model the kernel serves: standardise → dot → sigmoid. Other fields ride along. */
export interface LogisticModelShape extends Standardised {
  kind: 'logistic';
  coef: number[];
  intercept: number;
}

export type ServableModel = MlpNetwork | LogisticModelShape;
