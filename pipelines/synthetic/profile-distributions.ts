// Summary numbers that shape the synthetic providers. Derived once (2026-11-25) from
// ../shared/datasets/freelancer_profiles.csv (8,401 scraped freelancer profiles, no licence stated:
// development only) with a throwaway script; only these aggregates are kept, never rows.
// Prices there are USD per hour; levels 0-1 map to entry, 2-3 to intermediate, 4-5 to expert.

/** Share of profiles per level, and log-normal parameters of the hourly price (USD) per level. */
export const LEVEL_MIX = { entry: 0.608, intermediate: 0.256, expert: 0.136 } as const;
export const PRICE_LOG_BY_LEVEL = {
  entry: { mu: 2.669, sigma: 0.876 },
  intermediate: { mu: 2.933, sigma: 0.72 },
  expert: { mu: 3.028, sigma: 0.68 },
} as const;

/**
 * Shift of log price by the profile's first category, relative to the overall mean log price 2.786
 * (Programming 3.055, Web Development 3.036, Other 2.834, Graphic Design 2.751, Content Writing
 * 2.643, Translation 2.599, Finance 2.515, Marketing 2.509).
 */
export const PRICE_LOG_SHIFT_BY_FAMILY = {
  programming: 0.27, web: 0.25, other: 0.05, design: -0.03, writing: -0.14, translation: -0.19, finance: -0.27, marketing: -0.28,
} as const;

/** 48% of profiles have no rating and no reviews (new); among rated ones the rounded rating mix. */
export const UNRATED_SHARE = 0.478;
export const RATING_MIX = [
  { rating: 5, share: 0.936 }, { rating: 4, share: 0.048 }, { rating: 3, share: 0.011 }, { rating: 1, share: 0.005 },
] as const;
/** Reviews of rated profiles: log-normal. */
export const REVIEWS_LOG = { mu: 3.04, sigma: 1.956 } as const;
/** Unrated share by level: level 0 profiles are mostly new, higher levels almost all reviewed. */
export const UNRATED_BY_LEVEL = { entry: 0.67, intermediate: 0.26, expert: 0.05 } as const;

/** Skills per profile: counts 0..12, mean 6.8. */
export const SKILLS_PER_PROFILE = [15, 56, 193, 299, 546, 934, 1126, 1659, 1872, 1264, 381, 49, 7] as const;

/** Country mix (ISO 3166 code, share); the remaining 17.5% spread over the long tail below. */
export const COUNTRY_MIX = [
  ['IN', 0.308], ['BD', 0.178], ['PK', 0.106], ['US', 0.065], ['ID', 0.04], ['PH', 0.018], ['UA', 0.017], ['EG', 0.016],
  ['CA', 0.013], ['KE', 0.012], ['GB', 0.011], ['LK', 0.011], ['AR', 0.01], ['RS', 0.01], ['AU', 0.01], ['MY', 0.009],
] as const;
export const COUNTRY_TAIL = ['NG', 'DE', 'FR', 'ES', 'IT', 'PL', 'RO', 'BR', 'MX', 'VN', 'NP', 'MA', 'TR', 'ZA', 'NL', 'PT'] as const;

export const TIMEZONES: Record<string, string> = {
  IN: 'Asia/Kolkata', BD: 'Asia/Dhaka', PK: 'Asia/Karachi', US: 'America/New_York', ID: 'Asia/Jakarta', PH: 'Asia/Manila',
  UA: 'Europe/Kyiv', EG: 'Africa/Cairo', CA: 'America/Toronto', KE: 'Africa/Nairobi', GB: 'Europe/London', LK: 'Asia/Colombo',
  AR: 'America/Argentina/Buenos_Aires', RS: 'Europe/Belgrade', AU: 'Australia/Sydney', MY: 'Asia/Kuala_Lumpur', NG: 'Africa/Lagos',
  DE: 'Europe/Berlin', FR: 'Europe/Paris', ES: 'Europe/Madrid', IT: 'Europe/Rome', PL: 'Europe/Warsaw', RO: 'Europe/Bucharest',
  BR: 'America/Sao_Paulo', MX: 'America/Mexico_City', VN: 'Asia/Ho_Chi_Minh', NP: 'Asia/Kathmandu', MA: 'Africa/Casablanca',
  TR: 'Europe/Istanbul', ZA: 'Africa/Johannesburg', NL: 'Europe/Amsterdam', PT: 'Europe/Lisbon',
};
