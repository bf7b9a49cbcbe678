// FNV-1a 32-bit and GrowthBook's two hash versions. GrowthBook's JS SDK hashes UTF-16 code units
// (`charCodeAt`), not UTF-8 bytes, so a non-ASCII id lands where the JS SDK puts it; we do the
// same. The `*Pair` functions hash the concatenation of two strings without building it, and
// `hashV2Pair` hashes the decimal digits of the first hash without `String()`, so the assignment
// hot path allocates nothing.

const OFFSET_BASIS = 0x811c9dc5;
const PRIME = 0x01000193;

/** FNV-1a 32-bit over the UTF-16 code units of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let h = OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), PRIME);
  return h >>> 0;
}

/** fnv1a32(a + b) without the concatenation. */
export function fnv1a32Pair(a: string, b: string): number {
  let h = OFFSET_BASIS;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), PRIME);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), PRIME);
  return h >>> 0;
}

// Digits of a uint32, least significant first: at most 10. One buffer for the module (JS is
// single-threaded and nothing re-enters between the fill and the read).
const digits = new Uint8Array(10);

/** fnv1a32(String(n)) for an unsigned 32-bit integer `n`, without building the string. */
export function fnv1a32Decimal(n: number): number {
  let count = 0;
  // Below 1e9 the digits come from int32 arithmetic (faster than float division); a 10-digit
  // value is split into its leading digit and a 9-digit int32 remainder.
  let x = n;
  let top = -1;
  if (n >= 1e9) {
    top = Math.floor(n / 1e9);
    x = n - top * 1e9;
  }
  x |= 0;
  do {
    const q = (x / 10) | 0;
    digits[count++] = x - q * 10;
    x = q;
  } while (x > 0 || (top >= 0 && count < 9));
  if (top >= 0) digits[count++] = top;
  let h = OFFSET_BASIS;
  while (count > 0) h = Math.imul(h ^ (48 + digits[--count]!), PRIME); // 48 = '0'
  return h >>> 0;
}

/** Hash version 1 (biased, kept for old experiments): fnv(value + seed) mod 1000, in [0, 1). */
export function hashV1Pair(value: string, seed: string): number {
  return (fnv1a32Pair(value, seed) % 1000) / 1000;
}

/** Hash version 2: fnv(String(fnv(seed + value))) mod 10000, in [0, 1). */
export function hashV2Pair(seed: string, value: string): number {
  return (fnv1a32Decimal(fnv1a32Pair(seed, value)) % 10000) / 10000;
}

/**
 * GrowthBook's `hash(seed, value, version)`: a number in [0, 1), or null for a hash version it
 * does not know (the caller then leaves the unit out of the experiment).
 */
export function hash(seed: string, value: string, version: number): number | null {
  if (version === 2) return hashV2Pair(seed, value);
  if (version === 1) return hashV1Pair(value, seed);
  return null;
}
