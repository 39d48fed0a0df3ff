/**
 * System-failure risk of a service from its recent metrics. Each factor maps one signal to [0,1];
 * the risk is a weighted noisy-OR, 1 - prod(1 - weight * factor), so one severe signal is enough
 * for a high risk and several moderate ones add up. Signals without data are listed, not counted.
 */
export interface RiskSignals {
  /** Share of `service_up` samples equal to 0 in the window, and the newest value. */
  serviceUp: { downShare: number; latest: number } | null;
  /** sum(http_server_error_count) / sum(http_request_count) in the window. */
  errorRate: number | null;
  /** Mean of `http_response_time_p95_ms` (or `http_response_time_ms` when p95 is not pushed). */
  latencyP95Ms: number | null;
  cpuPercent: number | null;
  memoryPercent: number | null;
}

export interface RiskFactor {
  factor: 'service_down' | 'error_rate' | 'latency' | 'cpu' | 'memory';
  value: number | null;
  /** The factor's own severity in [0,1] (null without data). */
  score: number | null;
  weight: number;
  /** weight * score: how much this factor alone would make the risk. */
  contribution: number;
  detail: string;
}

export const RISK_WEIGHTS = { service_down: 1, error_rate: 0.8, latency: 0.6, cpu: 0.4, memory: 0.5 } as const;

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

export function failureRisk(signals: RiskSignals, latencyTargetMs: number): { risk: number; level: 'low' | 'medium' | 'high' | 'critical'; factors: RiskFactor[] } {
  const factors: RiskFactor[] = [];
  const add = (factor: RiskFactor['factor'], value: number | null, score: number | null, detail: string) => {
    const weight = RISK_WEIGHTS[factor];
    factors.push({ factor, value, score, weight, contribution: score === null ? 0 : weight * score, detail });
  };
  const up = signals.serviceUp;
  // Down now counts fully; earlier flapping in the window counts by its share.
  add('service_down', up === null ? null : up.latest, up === null ? null : up.latest === 0 ? 1 : clamp01(up.downShare * 2), up === null ? 'no service_up samples' : up.latest === 0 ? 'service is down' : `down in ${(up.downShare * 100).toFixed(0)}% of checks`);
  // 5% server errors is a full factor.
  add('error_rate', signals.errorRate, signals.errorRate === null ? null : clamp01(signals.errorRate / 0.05), signals.errorRate === null ? 'no http_request_count samples' : `${(signals.errorRate * 100).toFixed(2)}% server errors`);
  // From half the latency target (0) to 1.5 times it (1).
  const latency = signals.latencyP95Ms;
  add('latency', latency, latency === null ? null : clamp01((latency - 0.5 * latencyTargetMs) / latencyTargetMs), latency === null ? 'no response time samples' : `p95 ${latency.toFixed(0)} ms against a ${latencyTargetMs} ms target`);
  add('cpu', signals.cpuPercent, signals.cpuPercent === null ? null : clamp01((signals.cpuPercent - 70) / 25), signals.cpuPercent === null ? 'no system_cpu_usage_percent samples' : `cpu ${signals.cpuPercent.toFixed(0)}%`);
  add('memory', signals.memoryPercent, signals.memoryPercent === null ? null : clamp01((signals.memoryPercent - 75) / 20), signals.memoryPercent === null ? 'no system_memory_usage_percent samples' : `memory ${signals.memoryPercent.toFixed(0)}%`);
  const risk = 1 - factors.reduce((product, f) => product * (1 - f.contribution), 1);
  const level = risk >= 0.8 ? 'critical' : risk >= 0.5 ? 'high' : risk >= 0.2 ? 'medium' : 'low';
  factors.sort((a, b) => b.contribution - a.contribution);
  return { risk, level, factors };
}
