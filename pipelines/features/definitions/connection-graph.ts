// The networking graph between users (providers and clients) as of a time: adjacency sets in
// memory, for network proximity at request time. Distances stop at 3 hops: past that a
// connection says nothing a model could use, and bounding it keeps a query cheap even next to hubs.
import type { Db, Tx } from '../../../platform/db/database.js';
import { readConnections } from './feature-sources.repository.js';

export const MAX_HOPS = 3;

export interface Proximity {
  /** 1..3, or null when there is no path of at most 3 hops. */
  hops: number | null;
  /** Users connected to both ends. */
  shared: number;
  /** A user on a shortest path (1 hop: none), for the explanation. */
  via: string | null;
}

export class ConnectionGraph {
  private readonly adj = new Map<string, Set<string>>();

  constructor(edges: Iterable<readonly [string, string]> = [], readonly asOf: number | null = null) {
    for (const [a, b] of edges) this.connect(a, b);
  }

  connect(a: string, b: string): void {
    if (a === b) return;
    this.neighboursOf(a, true).add(b);
    this.neighboursOf(b, true).add(a);
  }

  neighbours(user: string): ReadonlySet<string> {
    return this.adj.get(user) ?? EMPTY;
  }

  get size(): number {
    return this.adj.size;
  }

  /**
   * Hops from `a` to `b`, bounded at 3, searching from both ends: hop 1 is an edge, hop 2 a shared
   * neighbour, hop 3 an edge between the two neighbourhoods (scanning the smaller one's neighbours).
   */
  proximity(a: string, b: string): Proximity {
    const na = this.neighbours(a), nb = this.neighbours(b);
    let shared = 0, via: string | null = null;
    const [small, large] = na.size <= nb.size ? [na, nb] : [nb, na];
    for (const x of small) if (large.has(x)) { shared++; via ??= x; }
    if (na.has(b)) return { hops: 1, shared, via: null };
    if (shared > 0) return { hops: 2, shared, via };
    const [from, to] = na.size <= nb.size ? [na, nb] : [nb, na];
    for (const x of from) {
      for (const y of this.neighbours(x)) if (to.has(y)) return { hops: 3, shared: 0, via: na.has(x) ? x : y };
    }
    return { hops: null, shared: 0, via: null };
  }

  private neighboursOf(user: string, create: true): Set<string> {
    let s = this.adj.get(user);
    if (!s && create) { s = new Set(); this.adj.set(user, s); }
    return s!;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** The graph of every connection made by `asOf` (one query). */
export async function loadConnectionGraph(db: Db | Tx, asOf: number): Promise<ConnectionGraph> {
  return new ConnectionGraph(await readConnections(db, asOf), asOf);
}
