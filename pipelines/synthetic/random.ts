// A small seeded PRNG (sfc32, seeded through cyrb128) and the distributions the synthetic
// marketplace draws from. Math.random is never used: the same seed must give the same rows.

/** cyrb128: a fast 128-bit string hash, used to seed streams and to derive per-id latents. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4; h2 ^= h1; h3 ^= h1; h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A uniform number in [0, 1) that depends only on `text`: latents recomputable from ids. */
export function hashUnit(text: string): number {
  return hash128(text)[0]! / 4294967296;
}

/** A standard normal that depends only on `text` (Box-Muller over two hash words). */
export function hashNormal(text: string): number {
  const [a, b] = hash128(text);
  const u = (a! + 1) / 4294967297;
  const v = b! / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export class Random {
  private a: number; private b: number; private c: number; private d: number;
  private spare: number | null = null;

  /** Independent streams per purpose: adding draws to one phase does not shift another. */
  constructor(seed: string | number, stream = '') {
    [this.a, this.b, this.c, this.d] = hash128(`${seed}/${stream}`);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** sfc32: uniform in [0, 1). */
  next(): number {
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  normal(mean = 0, sd = 1): number {
    if (this.spare !== null) { const s = this.spare; this.spare = null; return mean + sd * s; }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u)), th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return mean + sd * r * Math.cos(th);
  }

  logNormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Poisson by inversion (Knuth) for small means, a rounded normal for large ones. */
  poisson(mean: number): number {
    if (mean > 40) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const l = Math.exp(-mean);
    let k = 0, p = 1;
    do { k++; p *= this.next(); } while (p > l);
    return k - 1;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Index drawn with probability proportional to weights[i]. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) { x -= weights[i]!; if (x < 0) return i; }
    return weights.length - 1;
  }
}

/** Zipf (power-law) sampler over ranks 0..n-1: P(k) ∝ 1 / (k+1)^s, by binary search on the CDF. */
/** A seeded uniform stream in [0, 1) as a plain function (training shuffles, benchmarks, tests). */
export function uniform(seed: string | number, stream = ''): () => number {
  const r = new Random(seed, stream);
  return () => r.next();
}

export class Zipf {
  private readonly cdf: Float64Array;

  constructor(readonly n: number, s: number) {
    this.cdf = new Float64Array(n);
    let acc = 0;
    for (let k = 0; k < n; k++) { acc += 1 / Math.pow(k + 1, s); this.cdf[k] = acc; }
    for (let k = 0; k < n; k++) this.cdf[k]! /= acc;
  }

  sample(rng: Random): number {
    const x = rng.next();
    let lo = 0, hi = this.n - 1;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (this.cdf[mid]! < x) lo = mid + 1; else hi = mid; }
    return lo;
  }
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function logit(p: number): number {
  return Math.log(p / (1 - p));
}
