// The pure rule helpers: settings validation, IP (CIDR, v4/v6, mapped) and user-agent block lists,
// the robust statistics of the anomaly score and the gap regularity.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../../platform/errors/app-error.js';
import {
  gapCv, ipBlockList, MIN_SCALE, resolveFraudRules, robustStats, robustZ, userAgentBlockList,
} from '../../../../../services/scoring/ads/fraud/fraud-rules.js';
import { DEFAULT_FRAUD_RULES } from '../../../../../services/scoring/ads/fraud/fraud.types.js';

describe('resolveFraudRules', () => {
  it('fills in the defaults', () => {
    expect(resolveFraudRules({})).toEqual(DEFAULT_FRAUD_RULES);
    expect(resolveFraudRules({ ipClicksPerMinute: 5, blockedIps: undefined })).toMatchObject({ ipClicksPerMinute: 5, blockedIps: [] });
  });

  it('names every bad field', () => {
    let err: unknown;
    try {
      resolveFraudRules({ minClickDelayMs: -1, ipClicksPerHour: 1.5, anomalyThreshold: Number.NaN, anomalyMinScale: 0, blockedIps: ['10.0.0.0/8', '10.0.0.0/33', 'nope'], blockedUserAgents: ['ok', '/(/'] });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems.map((p) => p.path)).toEqual([
      'rules.minClickDelayMs', 'rules.ipClicksPerHour', 'rules.anomalyThreshold', 'rules.anomalyMinScale', 'rules.blockedIps.1', 'rules.blockedIps.2', 'rules.blockedUserAgents.1',
    ]);
  });
});

describe('ipBlockList', () => {
  const blocked = ipBlockList(['203.0.113.7', '198.51.100.0/24', '2001:db8::/32']);
  it.each([
    ['203.0.113.7', true], ['203.0.113.8', false], ['198.51.100.255', true], ['198.51.101.0', false],
    ['::ffff:198.51.100.4', true], ['2001:db8:1::1', true], ['2001:db9::1', false], ['not an ip', false], [null, false],
  ] as const)('%s → %s', (ip, expected) => {
    expect(blocked(ip)).toBe(expected);
  });
  it('blocks nothing when empty', () => { expect(ipBlockList([])('203.0.113.7')).toBe(false); });
});

describe('userAgentBlockList', () => {
  const match = userAgentBlockList(['HeadlessChrome', '/^curl\\//i', '/bot\\b/']);
  it.each([
    ['Mozilla/5.0 (X11) headlesschrome/120', 'HeadlessChrome'], ['curl/8.1', '/^curl\\//i'], ['CURL/8.1', '/^curl\\//i'],
    ['my-curl/1', null], ['somebot v2', '/bot\\b/'], ['Bot v2', null], ['Mozilla/5.0 Safari', null], [null, null],
  ] as const)('%s → %s', (ua, expected) => {
    expect(match(ua)).toBe(expected);
  });
});

describe('robustStats / robustZ', () => {
  it('uses 1.4826·MAD of log(1 + clicks)', () => {
    const pop = [...Array(20).fill(1), ...Array(10).fill(2), ...Array(6).fill(3), ...Array(4).fill(5)] as number[];
    const s = robustStats(pop, 0.1); // 1.4826·MAD = 0.30, under the default floor
    expect(s.scaleKind).toBe('mad');
    expect(s.median).toBeCloseTo((Math.log(2) + Math.log(3)) / 2, 12);
    expect(s.scale).toBeCloseTo(1.4826 * (Math.log(3) - s.median), 12);
    expect(robustZ(6, s)).toBeCloseTo(3.4934, 4);
    expect(robustZ(7, s)).toBeCloseTo(3.9377, 4);
  });

  it('falls back to 1.253314·mean absolute deviation when the MAD is 0, never below the floor', () => {
    const s = robustStats([1, 1, 1, 3], 0.01);
    expect(s.scaleKind).toBe('meanad');
    expect(s.median).toBeCloseTo(Math.log(2), 12);
    expect(s.scale).toBeCloseTo(1.253314 * (Math.log(4) - Math.log(2)) / 4, 12);
    expect(robustStats([1, 1, 1, 3])).toMatchObject({ scale: MIN_SCALE, scaleKind: 'floor' }); // 0.217 < 0.5
    expect(robustStats([2, 2, 2], 0.2)).toMatchObject({ scale: 0.2, scaleKind: 'floor' });
    expect(robustStats([])).toMatchObject({ n: 0, scaleKind: 'floor' });
  });
});

describe('gapCv', () => {
  it('is 0 for metronome clicks, null under 3 clicks', () => {
    expect(gapCv([0, 1000, 2000, 3000])).toBe(0);
    expect(gapCv([3000, 0, 1000])).toBeCloseTo(1 / 3, 12); // gaps 1000 and 2000 (mean 1500, sd 500), unsorted input
    expect(gapCv([1, 2])).toBeNull();
  });
});
