// Inline pairs on the score path, in process: the column plan is made once per model version (the
// per-request views of a loaded model share it), rows and missing columns come straight from the
// flat record, and the features hash is the sha256 of the encoded rows.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { serialiseArtifact } from '../../../model-registry/artifact.js';
import { encodeValues } from '../../../model-registry/training/encode-table.js';
import { prepareModel, type LoadedModel } from '../../../services/scoring/model-store.js';
import { assembleInline, columnPlan, hashRows } from '../../../services/scoring/request-features.js';
import { logisticOver, matchingEncoding } from './scoring-fixtures.js';

function loaded(seed: string): LoadedModel {
  const { bytes, sha256 } = serialiseArtifact(logisticOver(matchingEncoding(), seed));
  return prepareModel('matching-ranker', 'champion', { version: 1, algorithm: 'logistic', featureSets: [] }, bytes, sha256);
}

describe('inline rows', () => {
  it('makes one column plan per model version, shared by every view of it a request is served', () => {
    const m = loaded('inline-plan');
    const plan = columnPlan(m);
    const view = Object.assign(Object.create(m) as LoadedModel, { route: 'canary' });
    expect(columnPlan(view)).toBe(plan);
    expect(plan.columns).toEqual(m.columns);
    expect(plan.sets).toContain('match_pair');
    expect(plan.features[plan.columns.indexOf('provider_profile__country')]).toBe('country');
    // Another version (its own columns array) gets its own plan.
    expect(columnPlan(loaded('inline-plan-2'))).not.toBe(plan);
  });

  it('encodes a flat record as the encoding does, reports the absent columns, and hashes the rows with sha256', () => {
    const m = loaded('inline-rows');
    const record: Record<string, unknown> = Object.fromEntries(m.columns.map((c) => [c, null]));
    Object.assign(record, { 'match_pair__price_fit': 0.4, 'provider_profile__country': 'IN', 'provider_activity__hires_30d': 3 });
    delete record['provider_profile__smoothed_rating'];
    const a = assembleInline(m, [record]);
    expect(Array.from(a.rows)).toEqual(Array.from(encodeValues(m.encoding!, record)));
    expect(a.problems[0]).toEqual({ missing: ['provider_profile__smoothed_rating'], expired: [] });
    expect(a.rawAt(0)['match_pair__price_fit']).toBe(0.4);
    expect(a.hash()).toBe(createHash('sha256').update(new Uint8Array(a.rows.buffer)).digest('hex'));
    expect(hashRows(a.rows.subarray(0))).toBe(a.hash());
  });
});
