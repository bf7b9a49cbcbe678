// Impression tokens: round trip, tampering with payload or signature, the wrong secret, malformed
// input, and expiry at the boundary.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ImpressionToken } from '../../../../../services/scoring/ads/ad-types.js';
import { signToken, verifyToken, WIRE } from '../../../../../services/scoring/ads/impression-token.js';

const SECRET = 'test-secret-0123456789';
const payload: ImpressionToken = {
  impressionId: 'imp_abc', campaignId: 'cmp_1', creativeId: 'cr_1', placementId: 'pl_top', userId: 'u_1',
  bidType: 'cpc', priceMinor: 125, currency: 'USD', issuedAt: 1_000_000, expiresAt: 1_060_000,
};

describe('impression tokens', () => {
  it('verifies what it signed, and is compact', () => {
    const token = signToken(payload, SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).toBeLessThan(300);
    expect(verifyToken(token, SECRET, 1_000_001)).toEqual({ valid: true, payload });
    expect(verifyToken(signToken({ ...payload, userId: null, bidType: 'cpm' }, SECRET), SECRET, 1_000_001)).toEqual({ valid: true, payload: { ...payload, userId: null, bidType: 'cpm' } });
  });

  it('refuses a changed payload, a changed signature, another secret and garbage', () => {
    const token = signToken(payload, SECRET);
    const [body, mac] = token.split('.') as [string, string];
    // A payload re-encoded with a higher price, keeping the old signature.
    const json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...json, m: 99_999 })).toString('base64url')}.${mac}`;
    expect(verifyToken(forged, SECRET, 1_000_001)).toEqual({ valid: false, reason: 'invalid_token' });
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(verifyToken(`${flip(body, 5)}.${mac}`, SECRET, 1_000_001).valid).toBe(false);
    expect(verifyToken(`${body}.${flip(mac, 10)}`, SECRET, 1_000_001)).toEqual({ valid: false, reason: 'invalid_token' });
    expect(verifyToken(`${body}.${mac.slice(0, 20)}`, SECRET, 1_000_001)).toEqual({ valid: false, reason: 'invalid_token' });
    expect(verifyToken(token, 'another-secret', 1_000_001)).toEqual({ valid: false, reason: 'invalid_token' });
    for (const bad of ['', '.', 'abc', `${token}.x`, 'x'.repeat(5000)]) expect(verifyToken(bad, SECRET, 1_000_001)).toEqual({ valid: false, reason: 'invalid_token' });
    // Correctly signed but not a token's shape.
    const odd = Buffer.from(JSON.stringify({ i: 'x' })).toString('base64url');
    expect(verifyToken(`${odd}.${createHmac('sha256', SECRET).update(odd).digest('base64url')}`, SECRET, 0)).toEqual({ valid: false, reason: 'invalid_token' });
  });

  it('writes the WIRE keys in their order and signs with HMAC-SHA256 of whichever secret is given', () => {
    // The token as built field by field from WIRE: the payload's JSON must stay byte for byte the same.
    const reference = (p: ImpressionToken, secret: string) => {
      const wire: Record<string, unknown> = {};
      for (const [field, short] of Object.entries(WIRE)) wire[short] = p[field as keyof ImpressionToken];
      const body = Buffer.from(JSON.stringify(wire)).toString('base64url');
      return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    };
    const other = { ...payload, userId: null, bidType: 'cpm' as const, currency: 'EUR', placementId: 'pl_"quoted"é' };
    for (const secret of [SECRET, 'another-secret', SECRET]) { // the key held for one secret is not used for another
      expect(signToken(payload, secret)).toBe(reference(payload, secret));
      expect(signToken(other, secret)).toBe(reference(other, secret));
    }
  });

  it('expires at expiresAt exactly', () => {
    const token = signToken(payload, SECRET);
    expect(verifyToken(token, SECRET, payload.expiresAt - 1).valid).toBe(true);
    expect(verifyToken(token, SECRET, payload.expiresAt)).toMatchObject({ valid: false, reason: 'expired_token' });
    expect(verifyToken(token, SECRET, payload.expiresAt + 3_600_000)).toMatchObject({ valid: false, reason: 'expired_token', payload: { campaignId: 'cmp_1' } });
  });
});
