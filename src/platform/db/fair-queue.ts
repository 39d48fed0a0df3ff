/**
 * Runs one task at a time, taking turns between keys (tenants): a tenant with many waiting
 * transactions gets one turn, then every other waiting tenant gets one, in the order they
 * started waiting. PGlite runs one transaction at a time; first-come order made one tenant's
 * burst a queue every other tenant waited behind.
 */
export interface FairQueue {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Tasks waiting for their turn (not the one running). */
  waiting(): number;
}

export function createFairQueue(): FairQueue {
  const waitingByKey = new Map<string, Array<() => void>>();
  // Keys with waiting tasks, next turn first. Map insertion order is the rotation.
  let busy = false;
  let waitingCount = 0;

  const next = (): void => {
    const turn = waitingByKey.entries().next();
    if (turn.done === true) {
      busy = false;
      return;
    }
    const [key, starters] = turn.value;
    const start = starters.shift();
    waitingByKey.delete(key);
    // Still waiting: back to the end of the rotation.
    if (starters.length > 0) waitingByKey.set(key, starters);
    waitingCount -= 1;
    start?.();
  };

  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const started = new Promise<void>((resolve) => {
        if (!busy) {
          busy = true;
          resolve();
          return;
        }
        const starters = waitingByKey.get(key) ?? [];
        starters.push(resolve);
        waitingByKey.set(key, starters);
        waitingCount += 1;
      });
      return started.then(task).finally(next);
    },
    waiting: () => waitingCount,
  };
}
