// The ranking path's view of the connection graph for one client gives the same hops and shared
// connections as ConnectionGraph.proximity for every provider (a random graph with hubs, chains
// and isolated users), and leaves other clients to the graph itself.
import { describe, expect, it } from 'vitest';
import { ConnectionGraph } from '../../../pipelines/features/definitions/connection-graph.js';
import { towardsClient } from '../../../services/scoring/request-features.js';

function randomGraph(users: number, edges: number, seed: number): ConnectionGraph {
  let x = seed;
  const next = () => { x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0; return x / 2 ** 32; };
  const list: [string, string][] = [];
  for (let i = 0; i < edges; i++) {
    // Squared draws: low ids become hubs.
    const a = Math.floor(next() ** 2 * users), b = Math.floor(next() * users);
    list.push([`u${a}`, `u${b}`]);
  }
  return new ConnectionGraph(list);
}

describe('towardsClient', () => {
  it.each([[1, 200, 150], [2, 200, 400], [3, 500, 300]])('matches ConnectionGraph.proximity (seed %i, %i users, %i edges)', (seed, users, edges) => {
    const graph = randomGraph(users, edges, seed);
    const hopsSeen = new Set<number | null>();
    for (const client of ['u0', 'u3', `u${users - 1}`, 'nobody']) {
      const view = towardsClient(graph, client);
      for (let p = 0; p < users; p++) {
        const want = graph.proximity(`u${p}`, client);
        const got = view.proximity(`u${p}`, client);
        expect({ hops: got.hops, shared: got.shared }).toEqual({ hops: want.hops, shared: want.shared });
        if (want.hops !== 3) expect(got.via).toBe(want.via);
        hopsSeen.add(want.hops);
      }
      expect(view.proximity('u1', 'u2')).toEqual(graph.proximity('u1', 'u2'));
    }
    expect(hopsSeen.size).toBeGreaterThanOrEqual(3); // the graphs exercise several distances
  });
});
