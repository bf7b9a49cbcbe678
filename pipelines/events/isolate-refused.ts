// Isolating what the database refuses in a batch: run the whole batch; when the error is a refusal
// of the data (not an outage), halve the batch around it until each refused item stands alone.
// The rest is written, so one bad event never holds up the good ones beside it.

/**
 * Runs `apply` on `items`, splitting on refusals (errors `refusalOf` gives a reason for); returns
 * the refused items with their reasons. Any other error propagates, so the queue retries the job.
 */
export async function isolateRefused<T>(
  items: readonly T[], apply: (batch: T[]) => Promise<void>, refusalOf: (err: unknown) => string | null,
): Promise<{ item: T; reason: string }[]> {
  const refused: { item: T; reason: string }[] = [];
  async function run(batch: T[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await apply(batch);
    } catch (err) {
      const reason = refusalOf(err);
      if (reason === null) throw err;
      if (batch.length === 1) {
        refused.push({ item: batch[0]!, reason });
        return;
      }
      const mid = batch.length >>> 1;
      await run(batch.slice(0, mid));
      await run(batch.slice(mid));
    }
  }
  await run([...items]);
  return refused;
}
