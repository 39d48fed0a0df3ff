/**
 * Group commit: calls made while a flush runs wait for the next one and go together, so under load
 * one transaction carries many writes, and a lone call is flushed at once (after the current tick).
 * `flush` answers one result per item, in order; if it throws, every call of that batch rejects.
 */
export function createBatcher<I, O>(flush: (items: readonly I[]) => Promise<O[]>, maxBatch: number): (item: I) => Promise<O> {
  const pending: Array<{ item: I; resolve: (result: O) => void; reject: (error: unknown) => void }> = [];
  let draining = false;

  const drain = async () => {
    while (pending.length > 0) {
      const batch = pending.splice(0, maxBatch);
      try {
        const results = await flush(batch.map((entry) => entry.item));
        if (results.length !== batch.length) throw new Error(`batch flush answered ${results.length} results for ${batch.length} items`);
        results.forEach((result, index) => batch[index]?.resolve(result));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    draining = false;
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (draining) return;
      draining = true;
      // Calls of the same tick join the first batch.
      setImmediate(() => void drain());
    });
}
