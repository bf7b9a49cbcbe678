import { describe, expect, it } from 'vitest';
import {
  assertAssignable, assign, assignmentProblems, compileExperiment, hashAttributeValue, variantIndexOf,
  type AssignableExperiment, type ExperimentStatus,
} from '../../../experiments/assignment/assign.js';
import { fnv1a32, fnv1a32Decimal, fnv1a32Pair, hash } from '../../../experiments/assignment/fnv.js';
import { ValidationError } from '../../../platform/errors/app-error.js';
import { uniform } from '../../../pipelines/synthetic/random.js';

/** `count` distinct-looking unit ids from a seeded stream. */
function unitIds(count: number, seed: string): string[] {
  const r = uniform(seed, 'unit-ids');
  return Array.from({ length: count }, (_, i) => `u${i}-${Math.floor(r() * 2 ** 40).toString(36)}`);
}

/** FNV-1a written the textbook way (BigInt multiply, mod 2^32) over UTF-16 code units. */
function referenceFnv(text: string): number {
  let h = 0x811c9dc5n;
  for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x01000193n) % 0x100000000n;
  return Number(h);
}

const base: AssignableExperiment = {
  key: 'ranker-v7', seed: 'ranker-v7-s1', hashVersion: 2, status: 'running', coverage: 1,
  variants: [{ weight: 0.2 }, { weight: 0.3 }, { weight: 0.5 }],
};

describe('FNV-1a and the two hash versions', () => {
  it('matches the published FNV-1a 32-bit vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('agrees with a textbook implementation on random UTF-16 strings, surrogates included', () => {
    const r = uniform('fnv', 'strings');
    for (let i = 0; i < 2_000; i++) {
      const a = String.fromCharCode(...Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * 0x10000)));
      const b = String.fromCharCode(...Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * 0x10000)));
      expect(fnv1a32Pair(a, b)).toBe(referenceFnv(a + b));
      const n = Math.floor(r() * 2 ** 32);
      expect(fnv1a32Decimal(n)).toBe(referenceFnv(String(n)));
      // The spec's definitions, built with strings: v1 fnv(value+seed)%1000, v2 fnv(String(fnv(seed+value)))%10000.
      expect(hash(a, b, 1)).toBe((referenceFnv(b + a) % 1000) / 1000);
      expect(hash(a, b, 2)).toBe((referenceFnv(String(referenceFnv(a + b))) % 10000) / 10000);
    }
    for (const n of [0, 7, 10, 999_999_999, 1_000_000_000, 1_000_000_009, 4_000_000_000, 4_294_967_295]) {
      expect(fnv1a32Decimal(n)).toBe(referenceFnv(String(n)));
    }
  });
});

describe('assignment stability when coverage grows', () => {
  const ids = unitIds(100_000, 'coverage-growth');
  const steps = [0.05, 0.1, 0.25, 0.5, 0.8, 1];

  it.each([1, 2])('hash version %i: nobody already in the experiment moves variant or leaves', (hashVersion) => {
    let previous: Int8Array | null = null;
    let previousIn = 0;
    for (const coverage of steps) {
      const c = compileExperiment({ ...base, hashVersion, coverage });
      const now = new Int8Array(ids.length);
      let inCount = 0;
      for (let i = 0; i < ids.length; i++) {
        const a = assign(c, { id: ids[i] });
        now[i] = a.inExperiment ? a.variationIndex : -1;
        if (a.inExperiment) inCount++;
      }
      if (previous !== null) {
        let moved = 0;
        let left = 0;
        for (let i = 0; i < ids.length; i++) {
          if (previous[i]! < 0) continue;
          if (now[i]! < 0) left++;
          else if (now[i] !== previous[i]) moved++;
        }
        expect({ coverage, moved, left }).toEqual({ coverage, moved: 0, left: 0 });
        expect(inCount).toBeGreaterThan(previousIn); // units did join: the check above is not vacuous
      }
      // Share in the experiment tracks coverage (v1 has a resolution of 1/1000, hence the slack).
      expect(Math.abs(inCount / ids.length - coverage)).toBeLessThan(0.01);
      previous = now;
      previousIn = inCount;
    }
  });
});

describe('distribution across variants', () => {
  const ids = unitIds(100_000, 'distribution');

  it.each([
    { weights: [0.2, 0.3, 0.5], coverage: 1 },
    { weights: [0.5, 0.5], coverage: 1 },
    { weights: [0.1, 0.9], coverage: 0.4 },
    { weights: [0.25, 0.25, 0.25, 0.25], coverage: 0.7 },
  ])('hash version 2 matches weights $weights at coverage $coverage within 4 standard errors', ({ weights, coverage }) => {
    const c = compileExperiment({ ...base, variants: weights.map((weight) => ({ weight })), coverage });
    const counts = new Array<number>(weights.length).fill(0);
    let inCount = 0;
    for (const id of ids) {
      const a = assign(c, { id });
      if (a.inExperiment) { counts[a.variationIndex]!++; inCount++; }
    }
    const n = ids.length;
    expect(Math.abs(inCount / n - coverage)).toBeLessThan(4 * Math.sqrt((coverage * (1 - coverage)) / n) + 1e-4);
    weights.forEach((w, k) => {
      const share = counts[k]! / inCount;
      expect(Math.abs(share - w)).toBeLessThan(4 * Math.sqrt((w * (1 - w)) / inCount) + 1e-4);
    });
  });
});

describe('namespaces', () => {
  it('keeps two experiments on disjoint ranges of one namespace mutually exclusive', () => {
    const ids = unitIds(20_000, 'namespaces');
    const left = compileExperiment({ ...base, key: 'a', namespace: { name: 'ranking', start: 0, end: 0.5 } });
    const right = compileExperiment({ ...base, key: 'b', namespace: { name: 'ranking', start: 0.5, end: 1 } });
    let both = 0;
    let neither = 0;
    let inLeft = 0;
    for (const id of ids) {
      const a = assign(left, { id });
      const b = assign(right, { id });
      if (a.inExperiment && b.inExperiment) both++;
      if (!a.inExperiment && !b.inExperiment) neither++;
      if (a.inExperiment) inLeft++;
      if (!a.inExperiment) expect(a.reason).toBe('namespace');
    }
    expect(both).toBe(0);
    expect(neither).toBe(0);
    expect(Math.abs(inLeft / ids.length - 0.5)).toBeLessThan(0.02);
  });
});

describe('assign', () => {
  const id = unitIds(1, 'one')[0]!;
  const running = assign(base, { id });

  it.each<[ExperimentStatus, boolean, string]>([
    ['running', true, 'assigned'], ['draft', false, 'inactive'],
    ['stopped', false, 'stopped'], ['rolled_back', false, 'stopped'],
  ])('status %s: in experiment %s (%s); out means control', (status, inExperiment, reason) => {
    const a = assign({ ...base, status }, { id });
    expect(a).toMatchObject({ inExperiment, reason, variationIndex: inExperiment ? running.variationIndex : 0 });
  });

  it('hashes a numeric id as its decimal string and treats empty ids as missing', () => {
    expect(assign(base, { id: 12345 })).toEqual(assign(base, { id: '12345' }));
    for (const missing of ['', null, undefined, 0]) {
      expect(assign(base, { id: missing })).toMatchObject({ inExperiment: false, reason: 'missing_unit_id', hashValue: '' });
    }
  });

  it('uses the seed, falling back to the key, so a new seed reshuffles units', () => {
    const ids = unitIds(2_000, 'seeds');
    const c1 = compileExperiment(base);
    const c2 = compileExperiment({ ...base, seed: 'another' });
    const byKey = compileExperiment({ ...base, seed: '' });
    const keyed = compileExperiment({ ...base, seed: base.key });
    let differ = 0;
    for (const u of ids) {
      if (variantIndexOf(c1, u) !== variantIndexOf(c2, u)) differ++;
      expect(variantIndexOf(byKey, u)).toBe(variantIndexOf(keyed, u));
    }
    expect(differ).toBeGreaterThan(ids.length * 0.4);
  });

  it('reads the hash attribute from the unit, nested paths included', () => {
    const def = { ...base, hashAttribute: 'company.id' };
    expect(hashAttributeValue({ company: { id: 'c-9' } }, 'company.id')).toBe('c-9');
    expect(hashAttributeValue({ 'company.id': 'literal' }, 'company.id')).toBe('literal');
    expect(hashAttributeValue({}, 'company.id')).toBe('');
    expect(assign(def, { id: 'ignored', attributes: { company: { id: 'c-9' } } })).toEqual(assign(base, { id: 'c-9' }));
  });

  it('gives the same answers through assign and variantIndexOf', () => {
    const configs: AssignableExperiment[] = [
      base, { ...base, hashVersion: 1, coverage: 0.3 }, { ...base, namespace: { name: 'l', start: 0.2, end: 0.7 } },
      { ...base, status: 'stopped' }, { ...base, hashVersion: 3 }, { ...base, force: 2, coverage: 0.5 },
    ];
    const ids = unitIds(5_000, 'lean');
    for (const def of configs) {
      const c = compileExperiment(def);
      for (const u of ids) {
        const a = assign(c, { id: u });
        expect(variantIndexOf(c, u)).toBe(a.inExperiment ? a.variationIndex : -1);
      }
    }
    expect(assign({ ...base, hashVersion: 3 }, { id })).toMatchObject({ inExperiment: false, reason: 'unknown_hash_version' });
  });
});

describe('assignmentProblems', () => {
  it('accepts a well-formed experiment', () => {
    expect(assignmentProblems(base)).toEqual([]);
    expect(() => assertAssignable({ ...base, namespace: { name: 'l', start: 0, end: 0.5 } })).not.toThrow();
  });

  it('names each field GrowthBook would otherwise fall back on or exclude everyone for', () => {
    const problems = assignmentProblems({
      key: '', hashVersion: 3, coverage: 1.2,
      variants: [{ weight: 0.7 }, { weight: -0.1 }, { weight: Number.NaN }],
      namespace: { name: '', start: 0.6, end: 0.4 }, force: 3,
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      '/coverage', '/force', '/hashVersion', '/key', '/namespace', '/namespace/name',
      '/variants', '/variants/1/weight', '/variants/2/weight',
    ]);
    expect(assignmentProblems({ ...base, variants: [{ weight: 0.5 }, { weight: 0.4999 }] }).map((p) => p.path)).toEqual(['/variants']);
    expect(assignmentProblems({ ...base, variants: [{ weight: 1 }] }).map((p) => p.path)).toEqual(['/variants']);
  });

  it('throws a ValidationError carrying the problems', () => {
    try {
      assertAssignable({ ...base, coverage: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).problems).toEqual([{ path: '/coverage', message: 'must be between 0 and 1' }]);
    }
  });
});
