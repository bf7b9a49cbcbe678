// Impression tokens: what was served, to whom and at what price, signed so that a click can be
// tied to a real impression without a database read. Compact on purpose (it travels in every ad
// URL): base64url of a short-keyed JSON payload, a dot, and base64url of its HMAC-SHA256.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { ImpressionToken } from './ad-types.js';

export type TokenCheck =
  | { valid: true; payload: ImpressionToken }
  | { valid: false; reason: 'invalid_token' | 'expired_token'; payload?: ImpressionToken };

// Short keys on the wire; the order is the field order of ImpressionToken.
export const WIRE = {
  impressionId: 'i', campaignId: 'c', creativeId: 'r', placementId: 'p', userId: 'u',
  bidType: 'b', priceMinor: 'm', currency: 'y', issuedAt: 't', expiresAt: 'e',
} as const satisfies Record<keyof ImpressionToken, string>;

// The secret as a key object, made once per secret (a string secret is re-imported on every HMAC).
let held: { secret: string; key: KeyObject } | null = null;
function keyOf(secret: string): KeyObject {
  if (held?.secret !== secret) held = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return held.key;
}

function mac(body: string, secret: string): Buffer {
  return createHmac('sha256', keyOf(secret)).update(body).digest();
}

export function signToken(payload: ImpressionToken, secret: string): string {
  if (!secret) throw new Error('impression token secret must not be empty');
  // The WIRE keys in their order, written out (a test checks them against WIRE): the JSON that building it field by field gives.
  const wire = {
    i: payload.impressionId, c: payload.campaignId, r: payload.creativeId, p: payload.placementId, u: payload.userId,
    b: payload.bidType, m: payload.priceMinor, y: payload.currency, t: payload.issuedAt, e: payload.expiresAt,
  } satisfies Record<(typeof WIRE)[keyof typeof WIRE], unknown>;
  const body = Buffer.from(JSON.stringify(wire)).toString('base64url');
  return `${body}.${createHmac('sha256', keyOf(secret)).update(body).digest('base64url')}`;
}

function decode(body: string): ImpressionToken | null {
  let wire: unknown;
  try { wire = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')); } catch { return null; }
  if (!wire || typeof wire !== 'object') return null;
  const w = wire as Record<string, unknown>;
  const str = (k: string) => typeof w[k] === 'string' && (w[k] as string).length > 0;
  const int = (k: string) => Number.isSafeInteger(w[k]);
  if (!str('i') || !str('c') || !str('r') || !str('p') || !str('y') || !int('m') || !int('t') || !int('e')) return null;
  if (w.u !== null && typeof w.u !== 'string') return null;
  if (w.b !== 'cpc' && w.b !== 'cpm') return null;
  return {
    impressionId: w.i as string, campaignId: w.c as string, creativeId: w.r as string, placementId: w.p as string,
    userId: w.u as string | null, bidType: w.b, priceMinor: w.m as number, currency: w.y as string,
    issuedAt: w.t as number, expiresAt: w.e as number,
  };
}

/** Checks the signature (in constant time), the payload's shape, then expiry (`now` ≥ expiresAt is expired). */
export function verifyToken(token: string, secret: string, now: number): TokenCheck {
  if (typeof token !== 'string' || token.length > 2048) return { valid: false, reason: 'invalid_token' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { valid: false, reason: 'invalid_token' };
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(body, secret);
  // timingSafeEqual needs equal lengths; a wrong length is invalid without comparing.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { valid: false, reason: 'invalid_token' };
  const payload = decode(body);
  if (!payload) return { valid: false, reason: 'invalid_token' };
  if (now >= payload.expiresAt) return { valid: false, reason: 'expired_token', payload };
  return { valid: true, payload };
}
