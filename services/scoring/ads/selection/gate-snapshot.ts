// A gate's answer for every campaign, held in memory and read again in the background once it is
// older than refreshMs (the first read is waited for; a failed refresh keeps the last good one).
// Selection asks the pacing and budget gates this way instead of once per request per candidate.

export interface GateSnapshot<V> {
  /** The answer by campaign, and the time its read started. */
  get(ids: () => readonly string[], at: number): Promise<{ values: ReadonlyMap<string, V>; readAt: number }>;
}

export function createGateSnapshot<V>(
  read: (ids: readonly string[], at: number) => Promise<ReadonlyMap<string, V>> | ReadonlyMap<string, V>,
  opts: { refreshMs: number; now: () => number },
): GateSnapshot<V> {
  let held: { values: ReadonlyMap<string, V>; readAt: number } | null = null;
  let loading: Promise<{ values: ReadonlyMap<string, V>; readAt: number }> | null = null;

  function load(ids: readonly string[], at: number) {
    const readAt = opts.now();
    loading ??= Promise.resolve(read(ids, at))
      .then((values) => (held = { values, readAt }))
      .finally(() => { loading = null; });
    return loading;
  }

  return {
    async get(ids, at) {
      if (!held) return load(ids(), at);
      if (opts.now() - held.readAt > opts.refreshMs && !loading) load(ids(), at).catch(() => {});
      return held;
    },
  };
}

/**
 * One call for the keys every request asked for in this turn of the event loop: with many
 * selections in flight, one round trip answers them all instead of one each (a turn's delay).
 */
export function createCoalescer<K, V>(run: (keys: K[]) => Promise<ReadonlyMap<K, V>> | ReadonlyMap<K, V>): (keys: readonly K[]) => Promise<ReadonlyMap<K, V>> {
  let pending: { keys: Set<K>; result: Promise<ReadonlyMap<K, V>> } | null = null;
  return (keys) => {
    if (!pending) {
      const batch: { keys: Set<K>; result: Promise<ReadonlyMap<K, V>> } = { keys: new Set(), result: Promise.resolve(new Map()) };
      batch.result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (pending === batch) pending = null; // later callers start the next batch
        return run([...batch.keys]);
      });
      pending = batch;
    }
    for (const k of keys) pending.keys.add(k);
    return pending.result;
  };
}
