/** Forecasting of evenly spaced series: moving average, moving average + linear trend, additive Holt-Winters. */

export type ForecastMethod = 'moving-average' | 'linear-trend' | 'holt-winters';

export interface ForecastPoint {
  /** Steps ahead of the last observation (1-based). */
  step: number;
  value: number;
  lower: number;
  upper: number;
}

export interface Forecast {
  method: ForecastMethod;
  points: ForecastPoint[];
  /** Standard deviation of the in-sample one-step errors the intervals are built from. */
  residualStd: number;
  seasonLength: number | null;
  params: Record<string, number>;
}

/** Two-sided normal quantile for the supported confidence levels. */
export function zOf(confidence: number): number {
  if (confidence >= 0.99) return 2.576;
  if (confidence >= 0.95) return 1.96;
  if (confidence >= 0.9) return 1.645;
  return 1.282;
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
const std = (values: readonly number[]) => {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
};

/** Flat forecast at the mean of the last `window` values; interval from the spread of that window. */
export function movingAverage(values: readonly number[], horizon: number, window: number, confidence: number): Forecast {
  const recent = values.slice(-window);
  const level = mean(recent);
  const sigma = std(recent);
  const z = zOf(confidence);
  const spread = z * sigma * Math.sqrt(1 + 1 / recent.length);
  const points = Array.from({ length: horizon }, (_, i) => ({ step: i + 1, value: level, lower: level - spread, upper: level + spread }));
  return { method: 'moving-average', points, residualStd: sigma, seasonLength: null, params: { window: recent.length } };
}

/**
 * The audit's moving average + trend, done as a least-squares line over the last `window` values:
 * the level is the window mean, the slope the fitted trend; the interval is the regression
 * prediction interval, which widens with the distance from the window's centre.
 */
export function linearTrend(values: readonly number[], horizon: number, window: number, confidence: number): Forecast {
  const recent = values.slice(-window);
  const n = recent.length;
  const xBar = (n - 1) / 2;
  const yBar = mean(recent);
  let sxx = 0;
  let sxy = 0;
  recent.forEach((y, x) => {
    sxx += (x - xBar) ** 2;
    sxy += (x - xBar) * (y - yBar);
  });
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const residuals = recent.map((y, x) => y - (yBar + slope * (x - xBar)));
  const sigma = n > 2 ? Math.sqrt(residuals.reduce((sum, r) => sum + r * r, 0) / (n - 2)) : 0;
  const z = zOf(confidence);
  const points = Array.from({ length: horizon }, (_, i) => {
    const x = n - 1 + i + 1;
    const value = yBar + slope * (x - xBar);
    const spread = z * sigma * Math.sqrt(1 + 1 / n + (sxx === 0 ? 0 : (x - xBar) ** 2 / sxx));
    return { step: i + 1, value, lower: value - spread, upper: value + spread };
  });
  return { method: 'linear-trend', points, residualStd: sigma, seasonLength: null, params: { window: n, slope_per_step: slope, level: yBar + slope * (n - 1 - xBar) } };
}

/** Autocorrelation at `lag` of values that were already detrended. */
function autocorrelation(values: readonly number[], lag: number, variance: number): number {
  let sum = 0;
  for (let i = lag; i < values.length; i++) sum += (values[i] ?? 0) * (values[i - lag] ?? 0);
  return sum / ((values.length - lag) * variance);
}

/**
 * Season length: the lag of the highest autocorrelation peak of the detrended series, if that
 * peak is strong (> 0.3) and the series holds at least two such seasons; otherwise null.
 */
export function detectSeasonLength(values: readonly number[], maxLag = 500): number | null {
  const n = values.length;
  if (n < 8) return null;
  const xBar = (n - 1) / 2;
  const yBar = mean(values);
  let sxx = 0;
  let sxy = 0;
  values.forEach((y, x) => {
    sxx += (x - xBar) ** 2;
    sxy += (x - xBar) * (y - yBar);
  });
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const detrended = values.map((y, x) => y - yBar - slope * (x - xBar));
  const variance = detrended.reduce((sum, v) => sum + v * v, 0) / n;
  if (variance === 0) return null;
  const top = Math.min(maxLag, Math.floor(n / 2));
  const acf = [1];
  for (let lag = 1; lag <= top + 1; lag++) acf.push(autocorrelation(detrended, lag, variance));
  let best: number | null = null;
  let bestValue = 0.3;
  for (let lag = 2; lag <= top; lag++) {
    const value = acf[lag] ?? 0;
    // A local peak; the first strong one wins over its own multiples unless they are clearly higher.
    if (value > (acf[lag - 1] ?? 0) && value >= (acf[lag + 1] ?? 0) && value > bestValue + (best === null ? 0 : 0.1)) {
      best = lag;
      bestValue = value;
    }
  }
  return best;
}

interface HoltWintersFit {
  sse: number;
  level: number;
  trend: number;
  seasonal: number[];
  errors: number[];
}

function fitHoltWinters(values: readonly number[], m: number, alpha: number, beta: number, gamma: number): HoltWintersFit {
  // Initial state from the first two seasons: level = first-season mean, trend = mean change per step.
  const first = values.slice(0, m);
  const second = values.slice(m, 2 * m);
  let level = mean(first);
  let trend = (mean(second) - level) / m;
  const seasonal = first.map((v) => v - level);
  const errors: number[] = [];
  let sse = 0;
  for (let t = m; t < values.length; t++) {
    const y = values[t] ?? 0;
    const s = seasonal[t % m] ?? 0;
    const error = y - (level + trend + s);
    errors.push(error);
    sse += error * error;
    const previousLevel = level;
    level = alpha * (y - s) + (1 - alpha) * (level + trend);
    trend = beta * (level - previousLevel) + (1 - beta) * trend;
    seasonal[t % m] = gamma * (y - level) + (1 - gamma) * s;
  }
  return { sse, level, trend, seasonal, errors };
}

const GRID = [0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9];
const TREND_GRID = [0, 0.01, 0.05, 0.1, 0.2];

/**
 * Additive Holt-Winters with smoothing parameters chosen on a grid by in-sample one-step error;
 * intervals use the additive model's h-step error variance
 * sigma^2 * (1 + sum_{j<h} (alpha (1 + j beta) + gamma (1 - alpha) [j mod m = 0])^2).
 */
export function holtWinters(values: readonly number[], horizon: number, seasonLength: number, confidence: number): Forecast {
  const m = seasonLength;
  let best: { fit: HoltWintersFit; alpha: number; beta: number; gamma: number } | undefined;
  for (const alpha of GRID) {
    for (const beta of TREND_GRID) {
      for (const gamma of GRID) {
        const fit = fitHoltWinters(values, m, alpha, beta, gamma);
        if (best === undefined || fit.sse < best.fit.sse) best = { fit, alpha, beta, gamma };
      }
    }
  }
  if (best === undefined) throw new Error('holt-winters grid is empty');
  const { fit, alpha, beta, gamma } = best;
  const sigma = Math.sqrt(fit.sse / Math.max(1, fit.errors.length - 3));
  const z = zOf(confidence);
  const n = values.length;
  let variance = 0;
  const points: ForecastPoint[] = [];
  for (let h = 1; h <= horizon; h++) {
    const j = h - 1;
    variance += j === 0 ? 1 : (alpha * (1 + j * beta) + (j % m === 0 ? gamma * (1 - alpha) : 0)) ** 2;
    const value = fit.level + h * fit.trend + (fit.seasonal[(n - 1 + h) % m] ?? 0);
    const spread = z * sigma * Math.sqrt(variance);
    points.push({ step: h, value, lower: value - spread, upper: value + spread });
  }
  return { method: 'holt-winters', points, residualStd: sigma, seasonLength: m, params: { alpha, beta, gamma, level: fit.level, trend: fit.trend } };
}

/** Fills missing steps between known points by linear interpolation (Holt-Winters needs even spacing). */
export function evenlySpaced(points: ReadonlyArray<[number, number]>, stepMs: number): { values: number[]; lastMs: number } {
  const sorted = [...points].sort((a, b) => a[1] - b[1]);
  const values: number[] = [];
  let previous: [number, number] | undefined;
  for (const point of sorted) {
    if (previous !== undefined) {
      const gap = Math.round((point[1] - previous[1]) / stepMs);
      for (let k = 1; k < gap; k++) values.push(previous[0] + ((point[0] - previous[0]) * k) / gap);
    }
    values.push(point[0]);
    previous = point;
  }
  return { values, lastMs: previous?.[1] ?? 0 };
}

export interface ForecastBacktest {
  /** Newest points held out: each candidate is fitted on the rest and forecasts them. */
  held_out: number;
  /** Mean absolute error of each candidate on the held-out points. */
  mae: Partial<Record<ForecastMethod, number>>;
}

function candidates(values: readonly number[], horizon: number, window: number, confidence: number, seasonLength: number | undefined): Forecast[] {
  const season = seasonLength ?? detectSeasonLength(values);
  const fitted = [movingAverage(values, horizon, window, confidence), linearTrend(values, horizon, window, confidence)];
  if (season !== null && season >= 2 && values.length >= 2 * season + 1) fitted.push(holtWinters(values, horizon, season, confidence));
  return fitted;
}

/**
 * Auto choice by backtest: every candidate (moving average, linear trend, and Holt-Winters when a
 * season is found or given and two seasons of history exist) forecasts the newest points from the
 * history before them; the one with the lowest mean absolute error forecasts from all of it.
 */
function autoForecast(values: readonly number[], options: { horizon: number; window: number; seasonLength?: number; confidence: number }): Forecast & { backtest: ForecastBacktest } {
  const heldOut = Math.max(1, Math.min(options.horizon, Math.floor(values.length / 4)));
  const past = values.slice(0, values.length - heldOut);
  const actual = values.slice(values.length - heldOut);
  const mae: Partial<Record<ForecastMethod, number>> = {};
  let best: ForecastMethod = 'linear-trend';
  let bestError = Number.POSITIVE_INFINITY;
  if (past.length >= 3) {
    for (const candidate of candidates(past, heldOut, options.window, options.confidence, options.seasonLength)) {
      const error = candidate.points.reduce((sum, point, index) => sum + Math.abs(point.value - (actual[index] ?? point.value)), 0) / heldOut;
      mae[candidate.method] = error;
      if (error < bestError) {
        best = candidate.method;
        bestError = error;
      }
    }
  }
  // Only the winner is fitted on the whole history (Holt-Winters falls back to the trend without a season there).
  const chosen = forecast(values, { ...options, method: best });
  return { ...chosen, backtest: { held_out: heldOut, mae } };
}

export function forecast(values: readonly number[], options: { horizon: number; method: ForecastMethod | 'auto'; window: number; seasonLength?: number; confidence: number }): Forecast & { backtest?: ForecastBacktest } {
  const { horizon, window, confidence } = options;
  if (options.method === 'moving-average') return movingAverage(values, horizon, window, confidence);
  if (options.method === 'linear-trend') return linearTrend(values, horizon, window, confidence);
  if (options.method === 'auto') return autoForecast(values, options);
  const season = options.seasonLength ?? detectSeasonLength(values);
  if (season !== null && season >= 2 && values.length >= 2 * season + 1) return holtWinters(values, horizon, season, confidence);
  return linearTrend(values, horizon, window, confidence);
}
