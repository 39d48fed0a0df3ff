/**
 * Runs at most `capacity` tasks at once, and at most `perKey` of one key (tenant), taking turns
 * between keys: a tenant with many waiting transactions gets one turn, then every other waiting
 * tenant gets one, in the order they started waiting. First-come order made one tenant's burst a
 * queue every other tenant waited behind (PGlite runs one transaction at a time), and on
 * PostgreSQL one tenant could hold every pooled connection and every server core.
 */
/** The turn key of cross-tenant work (jobs): one more tenant in the rotation. Tenant ids are UUIDs. */
export const SYSTEM_TURN = 'system';

export interface FairQueue {
  /** Rejects with `onTimeout()` when the task has not started within `maxWaitMs` (when given). */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Tasks waiting for their turn (not the running ones). */
  waiting(): number;
}

export interface FairQueueOptions {
  capacity: number;
  perKey: number;
  maxWaitMs?: number;
  onTimeout?: () => Error;
}

interface Waiter {
  start(): void;
}

export function createFairQueue(options: FairQueueOptions = { capacity: 1, perKey: 1 }): FairQueue {
  const capacity = Math.max(1, options.capacity);
  const perKey = Math.max(1, Math.min(options.perKey, capacity));
  // Keys with waiting tasks, next turn first. Map insertion order is the rotation.
  const waitingByKey = new Map<string, Waiter[]>();
  const runningByKey = new Map<string, number>();
  let running = 0;
  let waitingCount = 0;

  const begin = (key: string): void => {
    running += 1;
    runningByKey.set(key, (runningByKey.get(key) ?? 0) + 1);
  };

  const end = (key: string): void => {
    running -= 1;
    const left = (runningByKey.get(key) ?? 1) - 1;
    if (left === 0) runningByKey.delete(key);
    else runningByKey.set(key, left);
    dispatch();
  };

  /** Starts waiting tasks while there is room, one per key per turn of the rotation. */
  function dispatch(): void {
    while (running < capacity) {
      let chosen: string | undefined;
      for (const key of waitingByKey.keys()) {
        if ((runningByKey.get(key) ?? 0) < perKey) {
          chosen = key;
          break;
        }
      }
      if (chosen === undefined) return;
      const waiters = waitingByKey.get(chosen) ?? [];
      const waiter = waiters.shift();
      waitingByKey.delete(chosen);
      // Still waiting: back to the end of the rotation.
      if (waiters.length > 0) waitingByKey.set(chosen, waiters);
      if (waiter === undefined) continue;
      waitingCount -= 1;
      begin(chosen);
      waiter.start();
    }
  }

  const forget = (key: string, waiter: Waiter): void => {
    const waiters = waitingByKey.get(key);
    const index = waiters?.indexOf(waiter) ?? -1;
    if (waiters === undefined || index < 0) return;
    waiters.splice(index, 1);
    if (waiters.length === 0) waitingByKey.delete(key);
    waitingCount -= 1;
  };

  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const started = new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const waiter: Waiter = {
          start: () => {
            if (timer !== undefined) clearTimeout(timer);
            resolve();
          },
        };
        if (options.maxWaitMs !== undefined) {
          timer = setTimeout(() => {
            forget(key, waiter);
            reject(options.onTimeout?.() ?? new Error(`waited over ${options.maxWaitMs} ms for a turn`));
          }, options.maxWaitMs);
        }
        const waiters = waitingByKey.get(key) ?? [];
        waiters.push(waiter);
        waitingByKey.set(key, waiters);
        waitingCount += 1;
        dispatch();
      });
      return started.then(() => task().finally(() => end(key)));
    },
    waiting: () => waitingCount,
  };
}
