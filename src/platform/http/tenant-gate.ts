/**
 * At most `maxRunning` requests of one tenant are processed at once; the others wait their turn in
 * arrival order, up to `maxWaiting`. On the embedded database the queries of a request run on the
 * event loop itself, so without this a tenant's burst (even within its rate) is processed all at
 * once and every other tenant's request waits behind all of it; with it, behind `maxRunning` at most.
 */
export interface TenantGate {
  /** Resolves when the request may run; false when the tenant's queue is full (refuse it). */
  enter(tenantId: string): Promise<boolean>;
  leave(tenantId: string): void;
  running(tenantId: string): number;
}

export function createTenantGate(options: { maxRunning: number; maxWaiting: number }): TenantGate {
  const lanes = new Map<string, { running: number; waiting: Array<() => void> }>();
  return {
    async enter(tenantId) {
      let lane = lanes.get(tenantId);
      if (lane === undefined) {
        lane = { running: 0, waiting: [] };
        lanes.set(tenantId, lane);
      }
      if (lane.running < options.maxRunning) {
        lane.running += 1;
        return true;
      }
      if (lane.waiting.length >= options.maxWaiting) return false;
      const queued = lane;
      // The slot is handed over by leave(): running stays counted for the woken request.
      await new Promise<void>((resolve) => queued.waiting.push(resolve));
      return true;
    },
    leave(tenantId) {
      const lane = lanes.get(tenantId);
      if (lane === undefined) return;
      const next = lane.waiting.shift();
      if (next !== undefined) {
        next();
        return;
      }
      lane.running -= 1;
      if (lane.running === 0) lanes.delete(tenantId);
    },
    running: (tenantId) => lanes.get(tenantId)?.running ?? 0,
  };
}
