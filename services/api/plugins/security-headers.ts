// Security headers on every response: the set OWASP's REST Security Cheat Sheet gives for JSON
// APIs, computed once at start and set with one call per request (the app's onRequest hook sets
// them with the request id). Helmet's extra headers for HTML documents (X-XSS-Protection,
// X-Download-Options, Origin-Agent-Cluster, …) protect nothing here and quadrupled the bytes of a
// small answer, which costs measurable throughput.
// The CSP comes from config; the /docs pages (real HTML) replace it with their own.
export function securityHeaders(csp: string): Record<string, string> {
  return {
    'content-security-policy': csp.split(';').map((d) => d.trim()).filter(Boolean).join(';'),
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}
