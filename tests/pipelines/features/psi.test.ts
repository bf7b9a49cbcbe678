// The population stability index, computed by hand for small cases and checked on known shapes.
import { describe, expect, it } from 'vitest';
import { categoricalPsi, numericPsi, statusOf } from '../../../pipelines/features/drift/psi.js';

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('population stability index', () => {
  it('is zero for the same distribution and grows with the shift', () => {
    const ref = range(1000, (i) => i / 10);
    expect(numericPsi(ref, ref).psi).toBeCloseTo(0, 10);
    const small = numericPsi(ref, range(1000, (i) => i / 10 + 2)).psi!;
    const large = numericPsi(ref, range(1000, (i) => i / 10 + 40)).psi!;
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small);
    expect(statusOf(large)).toBe('drift');
  });

  it('equals the formula on two categories worked by hand', () => {
    // reference 50/50, current 80/20: PSI = (0.8−0.5)·ln(0.8/0.5) + (0.2−0.5)·ln(0.2/0.5)
    const ref = [...range(50, () => 'a'), ...range(50, () => 'b')].map(String);
    const cur = [...range(80, () => 'a'), ...range(20, () => 'b')].map(String);
    const expected = 0.3 * Math.log(0.8 / 0.5) + -0.3 * Math.log(0.2 / 0.5);
    const r = categoricalPsi(ref, cur);
    expect(r.psi).toBeCloseTo(expected, 10);
    expect(r.status).toBe('drift');
    expect(r.bins).toEqual([{ label: 'a', reference: 0.5, current: 0.8 }, { label: 'b', reference: 0.5, current: 0.2 }]);
  });

  it('counts values going missing as drift, and says when a sample is too small', () => {
    const ref = range(200, (i) => i);
    const cur = range<number | null>(200, (i) => (i % 2 ? null : i));
    const r = numericPsi(ref, cur);
    expect(r.bins.at(-1)).toEqual({ label: '(missing)', reference: 0, current: 0.5 });
    expect(r.status).toBe('drift');
    expect(numericPsi(range(10, (i) => i), ref)).toMatchObject({ psi: null, status: 'insufficient' });
    expect(statusOf(0.05)).toBe('stable');
    expect(statusOf(0.15)).toBe('warning');
  });

  it('bins a skewed feature at its distinct deciles only', () => {
    const ref = [...range(900, () => 0), ...range(100, (i) => i + 1)];
    const r = numericPsi(ref, ref);
    expect(r.bins.length).toBeLessThan(10);
    expect(r.psi).toBeCloseTo(0, 10);
  });
});
