// The permissions an API key can hold. `admin` implies every other scope.
export const SCOPES = [
  'score', 'ingest', 'features:read', 'registry:read', 'registry:write', 'registry:promote',
  'experiments:read', 'experiments:write', 'exports', 'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.includes('admin') || held.includes(needed);
}
