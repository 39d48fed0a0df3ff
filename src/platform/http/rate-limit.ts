import rateLimit, { normalizeIP, type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LimitCounters } from '../limits/index.js';
import { createTenantGate } from './tenant-gate.js';
import type { App } from './types.js';

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** @fastify/rate-limit's store over the limit counters (Redis for the cluster, or this instance). */
function countersStore(counters: LimitCounters) {
  return class CountersStore implements FastifyRateLimitStore {
    incr(key: string, callback: IncrCallback, timeWindow: number): void {
      counters.hit(key, timeWindow).then(
        (window) => callback(null, { current: window.count, ttl: window.resetMs }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    read(key: string, callback: IncrCallback, timeWindow: number): void {
      counters.peek([key], timeWindow).then(
        ([window]) => callback(null, { current: window?.count ?? 0, ttl: window?.resetMs ?? 0 }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    /** Keys already say which limit they count, so every limiter shares one store. */
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

export interface RequestLimitOptions {
  counters: LimitCounters;
  windowMs: number;
  perIp: number;
  perTenant: number;
  /** Requests of one tenant processed at once; the rest wait their turn, up to queuedPerTenant. */
  concurrentPerTenant: number;
  queuedPerTenant: number;
  /** Counter keys: one per client IP, one per tenant. */
  keys: { ip(ip: string): string; tenant(tenantId: string): string };
  /** Requests never counted (probes, scrapes from allowed addresses). */
  exempt(request: FastifyRequest): boolean;
  /** A tenant passed authentication on this instance. */
  seen(tenantId: string): void;
  /**
   * The tenant of a request known before its body is read (a valid bearer token), or undefined
   * (a signed service: its signature covers the body). Those requests take their turn before the
   * body is parsed, so a tenant's waiting requests cost nothing until their turn comes.
   */
  earlyTenant(request: FastifyRequest): Promise<string | undefined>;
  /** The error a refused request is answered with (429, with Retry-After). */
  refuse(refusal: { tenantId: string | undefined; limit: 'requests' | 'requests_per_ip'; max: number; retryAfterSeconds: number }): Error;
}

/** The key of a client address: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64). */
export const clientAddressKey = (ip: string): string => normalizeIP(ip);

/**
 * Request rates through @fastify/rate-limit: every request counts against its client IP (before
 * anything else runs), and an authenticated request also against its tenant (after the route's
 * authentication, which runs in the route's preHandler). Counter failures let the request through.
 */
export async function installRequestLimits(app: App, options: RequestLimitOptions): Promise<void> {
  await app.register(rateLimit, { global: false, store: countersStore(options.counters), skipOnError: true, timeWindow: options.windowMs });
  const perIp = app.createRateLimit({ max: options.perIp, timeWindow: options.windowMs, skipOnError: true, keyGenerator: (request) => options.keys.ip(clientAddressKey(request.ip)) });
  // The tenant each request is counted and queued under: set by limitTenant before it counts the request.
  const tenantOf = new WeakMap<FastifyRequest, string>();
  const perTenant = app.createRateLimit({
    max: options.perTenant,
    timeWindow: options.windowMs,
    skipOnError: true,
    keyGenerator: (request) => options.keys.tenant(tenantOf.get(request) ?? ''),
  });

  app.addHook('onRequest', async (request) => {
    if (options.exempt(request)) return;
    const result = await perIp(request);
    if (!result.isAllowed && result.isExceeded) {
      throw options.refuse({ tenantId: undefined, limit: 'requests_per_ip', max: result.max, retryAfterSeconds: Math.max(1, result.ttlInSeconds) });
    }
  });

  const gate = createTenantGate({ maxRunning: options.concurrentPerTenant, maxWaiting: options.queuedPerTenant });
  /** Holds one of the tenant's slots until the answer is sent (or the connection closes). */
  const takeSlot = async (tenantId: string, reply: FastifyReply): Promise<void> => {
    if (!(await gate.enter(tenantId))) {
      throw options.refuse({ tenantId, limit: 'requests', max: options.concurrentPerTenant + options.queuedPerTenant, retryAfterSeconds: 1 });
    }
    let left = false;
    reply.raw.once('close', () => {
      if (left) return;
      left = true;
      gate.leave(tenantId);
    });
  };

  const limitTenant = async (tenantId: string, gated: boolean, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    tenantOf.set(request, tenantId);
    options.seen(tenantId);
    const result = await perTenant(request);
    // isAllowed means allow-listed (never counted), not "under the limit".
    if (!result.isAllowed) {
      reply.header('x-ratelimit-limit', String(result.max));
      reply.header('x-ratelimit-remaining', String(result.remaining));
      reply.header('x-ratelimit-reset', String(result.ttlInSeconds));
      if (result.isExceeded) throw options.refuse({ tenantId, limit: 'requests', max: result.max, retryAfterSeconds: Math.max(1, result.ttlInSeconds) });
    }
    if (gated) await takeSlot(tenantId, reply);
  };
  const beforeBody = (gated: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (options.exempt(request)) return;
    const tenantId = await options.earlyTenant(request);
    if (tenantId !== undefined) await limitTenant(tenantId, gated, request, reply);
  };
  const afterAuthentication = (gated: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const tenantId = request.principal?.tenantId;
    // Counted (and queued) before its body already, under the same token's tenant.
    if (tenantId === undefined || tenantOf.has(request) || options.exempt(request)) return;
    await limitTenant(tenantId, gated, request, reply);
  };
  // Before every route's body (bearer tokens), else appended to its own preHandlers, so it runs
  // after the route authenticated the caller.
  app.addHook('onRoute', (route) => {
    const asList = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
    // A WebSocket holds its request for the connection's life: it is not a request to take turns with.
    const gated = route.websocket !== true;
    route.preParsing = [...asList(route.preParsing), beforeBody(gated)];
    route.preHandler = [...asList(route.preHandler), afterAuthentication(gated)];
  });
}
