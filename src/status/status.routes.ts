import { Type } from '@sinclair/typebox';
import { busKind } from '../config.js';
import type { Container } from '../container.js';
import { CheckStatusSchema, ServicesSummarySchema } from '../health/health.schemas.js';
import type { App } from '../platform/http/types.js';

/** Liveness, readiness and a secret-free description of this instance. */
export function statusRoutes(container: Container) {
  return async (app: App) => {
    app.get(
      '/status',
      {
        schema: {
          tags: ['health'],
          summary: 'Version, uptime and the adapters in use (no secrets)',
          response: {
            200: Type.Object({
              service: Type.String(),
              version: Type.String(),
              started_at: Type.String({ format: 'date-time' }),
              uptime_seconds: Type.Number(),
              node: Type.String(),
              adapters: Type.Object({ db: Type.String(), cache: Type.String(), bus: Type.String() }),
              jobs: Type.Array(Type.String()),
              /** Live anomaly scoring of this instance: batches over ANOMALY_QUEUE_MAX are skipped and counted here. */
              anomaly_scoring: Type.Object({ series: Type.Integer(), queued: Type.Integer(), dropped: Type.Integer(), scored: Type.Integer() }),
              /**
               * What each consumer of committed batches (bus publication, WebSocket fan-out, catalogue, stream
               * processor, anomaly scoring, default rules) has waiting and has skipped: past
               * INGEST_COMMIT_QUEUE_MAX_SAMPLES a consumer skips whole batches (they stay stored).
               */
              ingest_dispatch: Type.Object({
                max_queued_samples: Type.Integer(),
                consumers: Type.Array(Type.Object({ consumer: Type.String(), queued_samples: Type.Integer(), dropped_samples: Type.Integer() })),
              }),
              /** Summary of GET /health: overall status and the last cycle's service counts. */
              health: Type.Object({ status: CheckStatusSchema, services: Type.Union([ServicesSummarySchema, Type.Null()]) }),
            }),
          },
        },
      },
      async () => ({
        health: await container.health.overall().then(({ status, services }) => ({ status, services })),
        service: container.config.SERVICE_NAME,
        version: container.version,
        started_at: container.startedAt.toISOString(),
        uptime_seconds: Math.round((container.clock.nowMs() - container.startedAt.getTime()) / 1000),
        node: process.version,
        adapters: { db: container.db.kind, cache: container.cache.kind, bus: busKind(container.config) },
        jobs: container.scheduler.jobs(),
        anomaly_scoring: container.ml.anomalies.stats(),
        ingest_dispatch: { max_queued_samples: container.config.INGEST_COMMIT_QUEUE_MAX_SAMPLES, consumers: container.ingest.dispatchStats() },
      }),
    );

    app.get('/health/live', { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
      status: 'ok' as const,
    }));

    app.get('/health/ready', { schema: { tags: ['health'], summary: 'Readiness: the database answers, and the time-series database with METRICS_STORE=victoriametrics (503 otherwise)' } }, async (_request, reply) => {
      const started = performance.now();
      const metricsStore = container.remoteTsdb === undefined ? {} : { metrics_store: { status: (await container.remoteTsdb.healthy()) ? 'up' : 'down' } };
      const storeDown = metricsStore.metrics_store?.status === 'down';
      try {
        await container.db.ping();
        const body = { status: storeDown ? 'unavailable' : 'ok', database: { status: 'up', latency_ms: Math.round((performance.now() - started) * 100) / 100 }, ...metricsStore };
        return storeDown ? reply.status(503).send(body) : body;
      } catch {
        return reply.status(503).send({ status: 'unavailable', database: { status: 'down' }, ...metricsStore });
      }
    });
  };
}
