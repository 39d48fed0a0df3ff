import type { Logger } from 'pino';
import type { Config, SlaTarget } from '../config.js';
import type { Db } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import { responseTimeByService, storedSla, tenantsWithData, tenantsWithoutSla, upsertSla, uptimeByService, type SlaViolation, type StoredSlaRow } from './sla.repository.js';

export interface SlaEntry {
  service_name: string;
  /** null when no check of the service was recorded in the period (absent, not 100 %). */
  uptime_percentage: number | null;
  checks_total: number;
  checks_up: number;
  /** null when no request of the service was recorded in the period. */
  response_time_p95: number | null;
  requests_total: number;
  target_uptime_percentage: number;
  target_response_time_ms: number;
  violations: SlaViolation[];
  /** null when there is no data at all to judge. */
  compliant: boolean | null;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

export function createSlaService(deps: { config: Config; db: Db; logger: Logger }) {
  const targets: Record<string, SlaTarget> = deps.config.SLA_TARGETS;
  const targetOf = (service: string) => {
    const specific = targets[service] ?? targets[`${service}-service`] ?? {};
    return {
      uptime: specific.uptime_percentage ?? deps.config.SLA_DEFAULT_UPTIME_TARGET,
      responseTime: specific.response_time_ms ?? deps.config.SLA_DEFAULT_RESPONSE_TIME_MS,
    };
  };

  /** Uptime from the check history, p95 from performance_metrics, judged against each service's targets. */
  const compute = async (tenantId: string, from: Date, to: Date): Promise<SlaEntry[]> => {
    const [uptime, responseTimes] = await deps.db.withTenant(tenantId, (tx) => Promise.all([uptimeByService(tx, tenantId, from, to), responseTimeByService(tx, tenantId, from, to)]));
    const names = [...new Set([...uptime.map((row) => row.service_name), ...responseTimes.map((row) => row.service_name)])].sort();
    return names.map((name) => {
      const checks = uptime.find((row) => row.service_name === name);
      const requests = responseTimes.find((row) => row.service_name === name);
      const target = targetOf(name);
      const uptimePercentage = checks === undefined || checks.checks_total === 0 ? null : (100 * checks.checks_up) / checks.checks_total;
      const p95 = requests === undefined ? null : Number(requests.p95);
      const violations: SlaViolation[] = [];
      if (uptimePercentage !== null && uptimePercentage < target.uptime) violations.push({ type: 'uptime', target: target.uptime, actual: round(uptimePercentage, 4) });
      if (p95 !== null && p95 > target.responseTime) violations.push({ type: 'response_time_p95', target: target.responseTime, actual: round(p95, 2) });
      return {
        service_name: name,
        uptime_percentage: uptimePercentage === null ? null : round(uptimePercentage, 4),
        checks_total: checks?.checks_total ?? 0,
        checks_up: checks?.checks_up ?? 0,
        response_time_p95: p95 === null ? null : round(p95, 2),
        requests_total: requests?.requests_total ?? 0,
        target_uptime_percentage: target.uptime,
        target_response_time_ms: target.responseTime,
        violations,
        compliant: uptimePercentage === null && p95 === null ? null : violations.length === 0,
      };
    });
  };

  /**
   * Computes one period for every tenant with data (`onlyMissing`: only those with no stored row
   * of it) and stores it in sla_metrics (idempotent). A tenant that fails is logged and reported;
   * the others go on.
   */
  const computeAndStore = async (from: Date, to: Date, onUnitFailure?: UnitFailed, options: { onlyMissing?: boolean } = {}): Promise<number> => {
    const tenants = await deps.db.asSystem((tx) => (options.onlyMissing === true ? tenantsWithoutSla(tx, from, to) : tenantsWithData(tx, from, to)));
    let stored = 0;
    for (const tenantId of tenants) {
      try {
        stored += await computeAndStoreTenant(tenantId, from, to);
      } catch (error) {
        deps.logger.error({ err: error, tenantId, from: from.toISOString(), to: to.toISOString() }, 'sla computation failed for tenant');
        onUnitFailure?.({ tenantId }, error);
      }
    }
    return stored;
  };

  const computeAndStoreTenant = async (tenantId: string, from: Date, to: Date): Promise<number> => {
    const entries = await compute(tenantId, from, to);
    const rows: StoredSlaRow[] = entries.map((entry) => ({
      service_name: entry.service_name,
      period_start: from,
      period_end: to,
      uptime_percentage: entry.uptime_percentage,
      response_time_p95: entry.response_time_p95,
      target_uptime_percentage: entry.target_uptime_percentage,
      target_response_time_ms: entry.target_response_time_ms,
      checks_total: entry.checks_total,
      violations: entry.violations,
    }));
    await deps.db.withTenant(tenantId, (tx) => upsertSla(tx, tenantId, rows));
    return rows.length;
  };

  return {
    compute,
    computeAndStore,
    stored: (tenantId: string, from: Date, to: Date, service: string | null) => deps.db.withTenant(tenantId, (tx) => storedSla(tx, tenantId, from, to, service)),
  };
}

export type SlaService = ReturnType<typeof createSlaService>;

/** [start of the previous UTC day, start of today). */
export function previousUtcDay(now: Date): { from: Date; to: Date } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return { from: new Date(to.getTime() - 86_400_000), to };
}
