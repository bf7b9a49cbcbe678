// The kinds of training set `gigintel dataset build` knows, wired to the feature catalog.
import { adsSpec } from './ads-dataset.js';
import type { DatasetKind, DatasetSpec } from './build-dataset.js';
import { matchingSpec } from './matching-dataset.js';

export const DATASET_SPECS: Readonly<Record<DatasetKind, DatasetSpec>> = { matching: matchingSpec(), ads: adsSpec() };
