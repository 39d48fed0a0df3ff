/** Baseline sellout prediction: recent ticket rate, Poisson uncertainty on the number of orders. */
export interface SelloutPrediction {
  method: 'recent-rate' | 'lstm';
  /** Version of the stored model that made an LSTM prediction. */
  model_version?: number;
  /** Expected hours until sold out, null when nothing sells (no rate to extrapolate). */
  hours: number | null;
  sellout_at: string | null;
  /** 95% range of the sellout time from the uncertainty of the observed rate. */
  earliest_at: string | null;
  latest_at: string | null;
  before_start: boolean | null;
}

export type Trend = 'accelerating' | 'steady' | 'slowing' | 'idle';

export function trendOf(recent: number, previous: number): Trend {
  if (recent === 0 && previous === 0) return 'idle';
  if (previous === 0 || recent > previous * 1.2) return 'accelerating';
  if (recent < previous * 0.8) return 'slowing';
  return 'steady';
}

/** Hours of the rate window: the last hour, or the time since the first sale when that is shorter (at least a minute). */
export const rateWindowHours = (nowMs: number, firstSaleMs: number | null) => Math.min(1, Math.max(firstSaleMs === null ? 0 : (nowMs - firstSaleMs) / 3_600_000, 1 / 60));

/**
 * remaining / rate, where rate is tickets per hour over the window; with n orders observed the rate's
 * 95% range is rate * (1 +- 1.96 / sqrt(n)), which bounds the sellout time.
 */
export function baselineSellout(input: { remaining: number; ticketsInWindow: number; ordersInWindow: number; windowHours: number; now: Date; startsAt: Date }): SelloutPrediction {
  const at = (hours: number | null) => (hours === null ? null : new Date(input.now.getTime() + hours * 3_600_000).toISOString());
  if (input.remaining <= 0) return { method: 'recent-rate', hours: 0, sellout_at: input.now.toISOString(), earliest_at: input.now.toISOString(), latest_at: input.now.toISOString(), before_start: true };
  if (input.ticketsInWindow === 0 || input.windowHours <= 0) return { method: 'recent-rate', hours: null, sellout_at: null, earliest_at: null, latest_at: null, before_start: null };
  const rate = input.ticketsInWindow / input.windowHours;
  const spread = 1.96 / Math.sqrt(Math.max(1, input.ordersInWindow));
  const hours = input.remaining / rate;
  const earliest = input.remaining / (rate * (1 + spread));
  const latest = spread >= 1 ? null : input.remaining / (rate * (1 - spread));
  return { method: 'recent-rate', hours, sellout_at: at(hours), earliest_at: at(earliest), latest_at: at(latest), before_start: input.now.getTime() + hours * 3_600_000 <= input.startsAt.getTime() };
}
