import { medianOf } from '../../platform/stats.js';
import { SortedWindow } from './rolling.js';

export interface RobustDetectorOptions {
  /** Rows of recent history for the local median/MAD. */
  window: number;
  /** Rows in the short window compared against the long one (level shifts). */
  shortWindow: number;
  /** Past values per seasonal slot used for the seasonal baseline. */
  seasonalDepth: number;
  /** Past feature values kept to calibrate the current one (its own high quantile). */
  referenceHistory: number;
  /** Rows before any score is given. */
  warmup: number;
  /**
   * Score at which a row counts as an alarm. For `suppressRows` rows after an alarm, rows are damped
   * by `suppressFactor` unless they are stronger than that alarm (a larger ratio) and at least
   * `shortWindow` rows later: a stronger event is a new incident and is never masked by a weaker one.
   */
  alarmLevel: number;
  suppressRows: number;
  suppressFactor: number;
  /** Quantile of a feature's own past that maps to ratio 1. */
  referenceQuantile: number;
  /** Ratio that maps to score 0.5. */
  squash: number;
}

export const DEFAULT_DETECTOR_OPTIONS: RobustDetectorOptions = {
  window: 400,
  shortWindow: 10,
  seasonalDepth: 4,
  referenceHistory: 1000,
  warmup: 30,
  alarmLevel: 0.53,
  suppressRows: 150,
  suppressFactor: 0.3,
  referenceQuantile: 0.999,
  squash: 1,
};

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const MAD_TO_SIGMA = 1.4826;

/**
 * Slots per period at most, whatever the series' step. At one slot per step a 1 s series kept
 * 86,400 daily and 604,800 weekly arrays, growing by two arrays a sample for a week: 440 MB of heap
 * for 50 series after 20,000 samples each (bench/memory.bench.ts). Slots of 5 minutes at least
 * (288 a day, 2,016 a week) leave series of a 5-minute step or coarser exactly as they were.
 */
const MIN_SLOT_MS = 5 * 60_000;

interface Slot {
  /** Which pass of the period over this slot each value comes from (absolute slot number). */
  occurrences: number[];
  /** One value per pass: the mean of that pass's samples. */
  values: number[];
  counts: number[];
}

/** Same time of day (or week) in earlier periods: a robust seasonal baseline that tolerates gaps. */
class SeasonalSlots {
  private readonly slots = new Map<number, Slot>();

  constructor(
    private readonly periodMs: number,
    private readonly depth: number,
  ) {}

  private place(timestampMs: number, stepMs: number): { key: number; occurrence: number } {
    const slotMs = Math.max(stepMs, MIN_SLOT_MS);
    const phase = ((timestampMs % this.periodMs) + this.periodMs) % this.periodMs;
    return { key: Math.round(phase / slotMs), occurrence: Math.round(timestampMs / slotMs) };
  }

  /** Median of this slot in earlier periods (the current pass is not its own baseline). */
  baseline(timestampMs: number, stepMs: number): number | undefined {
    const { key, occurrence } = this.place(timestampMs, stepMs);
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    const earlier = slot.values.filter((_, index) => slot.occurrences[index] !== occurrence);
    return earlier.length >= Math.min(this.depth, 2) ? medianOf(earlier) : undefined;
  }

  copyFrom(other: SeasonalSlots): void {
    this.slots.clear();
    for (const [key, slot] of other.slots) this.slots.set(key, { occurrences: [...slot.occurrences], values: [...slot.values], counts: [...slot.counts] });
  }

  push(timestampMs: number, stepMs: number, value: number): void {
    const { key, occurrence } = this.place(timestampMs, stepMs);
    const slot = this.slots.get(key) ?? { occurrences: [], values: [], counts: [] };
    const last = slot.values.length - 1;
    if (last >= 0 && slot.occurrences[last] === occurrence) {
      const count = (slot.counts[last] ?? 1) + 1;
      slot.values[last] = (slot.values[last] ?? value) + (value - (slot.values[last] ?? value)) / count;
      slot.counts[last] = count;
    } else {
      slot.occurrences.push(occurrence);
      slot.values.push(value);
      slot.counts.push(1);
      if (slot.values.length > this.depth) {
        slot.occurrences.shift();
        slot.values.shift();
        slot.counts.shift();
      }
    }
    this.slots.set(key, slot);
  }
}

/** Compares each feature value with its own past: scores mean the same thing on any series. */
class FeatureReference {
  private readonly history: SortedWindow;

  constructor(capacity: number) {
    this.history = new SortedWindow(capacity);
  }

  copyFrom(other: FeatureReference): void {
    this.history.copyFrom(other.history);
  }

  /** The value over its own past `q` quantile (above 1 = beyond what this feature usually does), then learns it. */
  ratioThenPush(value: number, q: number): number {
    const reference = this.history.size >= 20 ? this.history.quantile(q) : Number.NaN;
    this.history.push(value);
    if (Number.isNaN(reference)) return 0;
    return reference > 0 ? value / reference : value > 0 ? 10 : 0;
  }
}

/** Residual scale tracker for one baseline: median absolute residual over recent rows. */
class ResidualScale {
  private readonly residuals: SortedWindow;

  constructor(capacity: number) {
    this.residuals = new SortedWindow(capacity);
  }

  copyFrom(other: ResidualScale): void {
    this.residuals.copyFrom(other.residuals);
  }

  /** NaN until enough residuals are known: an undefined feature must not teach its reference zeros. */
  z(residual: number, floor: number): number {
    const scale = this.residuals.size >= 10 ? Math.max(MAD_TO_SIGMA * this.residuals.median(), floor) : Number.NaN;
    this.residuals.push(Math.abs(residual));
    return Number.isNaN(scale) ? Number.NaN : Math.abs(residual) / scale;
  }
}

/**
 * Streaming, causal anomaly detector: each score uses only the current value and earlier ones.
 *
 * Features, each on a robust scale (median / MAD, never mean / std, so past anomalies do not
 * inflate the scale): spike (value vs recent median), level shift (short median vs long median),
 * daily and weekly seasonal residuals (value vs the same slot in earlier periods). Each feature is
 * divided by its own past 99.9th percentile, which makes scores comparable across series of any unit or
 * noise level; the score squashes the largest ratio into [0,1], damped for a while after an alarm so one incident
 * yields one alarm (but a stronger event during that time is a new alarm, never masked by a weaker one).
 */
export class RobustAnomalyDetector {
  private readonly options: RobustDetectorOptions;
  private readonly recent: SortedWindow;
  private readonly short: number[] = [];
  private readonly daily: SeasonalSlots;
  private readonly weekly: SeasonalSlots;
  private readonly dailyScale: ResidualScale;
  private readonly weeklyScale: ResidualScale;
  private readonly references: FeatureReference[];
  private readonly steps: number[] = [];
  private stepMs = 0;
  private lastTimestamp: number | undefined;
  private rows = 0;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  private alarmRatio = 0;

  constructor(options: Partial<RobustDetectorOptions> = {}) {
    this.options = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
    const o = this.options;
    this.recent = new SortedWindow(o.window);
    this.daily = new SeasonalSlots(DAY_MS, o.seasonalDepth);
    this.weekly = new SeasonalSlots(WEEK_MS, Math.max(2, Math.ceil(o.seasonalDepth / 2)));
    this.dailyScale = new ResidualScale(o.window);
    this.weeklyScale = new ResidualScale(o.window);
    this.references = Array.from({ length: 4 }, () => new FeatureReference(o.referenceHistory));
  }

  /** An independent detector in the same state: what-if runs continue from it without replaying the past. */
  clone(): RobustAnomalyDetector {
    const copy = new RobustAnomalyDetector(this.options);
    copy.recent.copyFrom(this.recent);
    copy.short.push(...this.short);
    copy.daily.copyFrom(this.daily);
    copy.weekly.copyFrom(this.weekly);
    copy.dailyScale.copyFrom(this.dailyScale);
    copy.weeklyScale.copyFrom(this.weeklyScale);
    this.references.forEach((reference, index) => copy.references[index]?.copyFrom(reference));
    copy.steps.push(...this.steps);
    copy.stepMs = this.stepMs;
    copy.lastTimestamp = this.lastTimestamp;
    copy.rows = this.rows;
    copy.sinceAlarm = this.sinceAlarm;
    copy.alarmRatio = this.alarmRatio;
    return copy;
  }

  /** Score in [0,1] for this sample given everything seen before it; then learns the sample. */
  update(timestampMs: number, value: number): number {
    const o = this.options;
    this.trackStep(timestampMs);
    this.short.push(value);
    if (this.short.length > o.shortWindow) this.short.shift();

    let score = 0;
    if (this.rows >= o.warmup && this.stepMs > 0) {
      const center = this.recent.median();
      const spread = (this.recent.quantile(0.95) - this.recent.quantile(0.05)) / 3.29;
      const floor = Math.max(0.1 * spread, 1e-9 * (Math.abs(center) + 1e-9));
      const scale = Math.max(MAD_TO_SIGMA * this.recent.mad(center), floor);
      const spike = Math.abs(value - center) / scale;
      const level = (Math.abs(medianOf(this.short) - center) / scale) * Math.sqrt(this.short.length);
      const dailyBase = this.daily.baseline(timestampMs, this.stepMs);
      const weeklyBase = this.weekly.baseline(timestampMs, this.stepMs);
      const dailyZ = dailyBase === undefined ? Number.NaN : this.dailyScale.z(value - dailyBase, floor);
      const weeklyZ = weeklyBase === undefined ? Number.NaN : this.weeklyScale.z(value - weeklyBase, floor);
      const features = [spike, level, dailyZ, weeklyZ];
      let best = 0;
      features.forEach((feature, index) => {
        // A seasonal feature is undefined until its period has been seen twice; it neither scores nor
        // enters its reference then (zeros there would make its first real values look extreme).
        if (Number.isNaN(feature)) return;
        const ratio = this.references[index]?.ratioThenPush(feature, o.referenceQuantile) ?? 0;
        if (ratio > best) best = ratio;
      });
      score = best / (best + o.squash);
      // One incident, one alarm: rows after an alarm are damped, unless a later row (past the short
      // window of the same onset) is stronger than the alarm: then it is a new alarm, not masked.
      const damped = this.sinceAlarm < o.suppressRows && (this.sinceAlarm < o.shortWindow || best <= this.alarmRatio);
      if (damped) score *= o.suppressFactor;
      else if (score >= o.alarmLevel) {
        this.sinceAlarm = 0;
        this.alarmRatio = best;
      }
    }
    this.sinceAlarm += 1;
    this.learn(timestampMs, value);
    return Math.min(1, Math.max(0, score));
  }

  private trackStep(timestampMs: number): void {
    if (this.lastTimestamp !== undefined && timestampMs > this.lastTimestamp && this.steps.length < 50) {
      this.steps.push(timestampMs - this.lastTimestamp);
      this.stepMs = medianOf(this.steps);
    }
    this.lastTimestamp = timestampMs;
  }

  private learn(timestampMs: number, value: number): void {
    this.recent.push(value);
    this.rows += 1;
    if (this.stepMs > 0) {
      this.daily.push(timestampMs, this.stepMs, value);
      this.weekly.push(timestampMs, this.stepMs, value);
    }
  }
}
