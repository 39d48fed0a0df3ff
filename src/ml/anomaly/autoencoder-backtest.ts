import { medianOf } from '../../platform/stats.js';
import { WINDOW } from './autoencoder.js';
import { RobustAnomalyDetector } from './robust-detector.js';

/**
 * Whether a series' autoencoder joins the robust detector (score = the higher of the two) or the robust
 * detector serves alone. A series has no labels, so the backtest makes its own: on the held-out end of
 * the history it measures how often each scorer alarms on the data as it was (false alarms), and
 * how often it alarms on spikes and level shifts injected one at a time (detections). The autoencoder serves only when
 * it adds more detections than false alarms.
 */
export type AnomalyScorer = 'robust' | 'robust+autoencoder';

export interface ScorerQuality {
  detection_rate: number;
  false_alarm_rate: number;
}

export interface AutoencoderBacktest {
  held_out: number;
  injected: number;
  spike_size: number;
  robust: ScorerQuality;
  combined: ScorerQuality;
  served_by: AnomalyScorer;
}

const SPIKE_SIGMAS = 6;
const POINTS_PER_SPIKE = 50;
const MAX_SPIKES = 10;
const MAD_TO_SIGMA = 1.4826;

/** A spike the series does not produce on its own: 6 robust standard deviations of its level (of its steps when the level is flat). */
function spikeSize(values: readonly number[]): number {
  const center = medianOf(values);
  const levelSigma = MAD_TO_SIGMA * medianOf(values.map((value) => Math.abs(value - center)));
  if (levelSigma > 0) return SPIKE_SIGMAS * levelSigma;
  const steps = values.slice(1).map((value, index) => Math.abs(value - (values[index] ?? value)));
  const stepSigma = MAD_TO_SIGMA * medianOf(steps);
  return SPIKE_SIGMAS * (stepSigma > 0 ? stepSigma : Math.max(1, Math.abs(center)));
}

/** Robust scores of `values` from `from` to `until`, continuing a detector that has learned everything before `from`. */
function robustScores(detector: RobustAnomalyDetector, timestamps: readonly number[], values: readonly number[], from: number, until: number): number[] {
  const scores: number[] = [];
  for (let index = from; index < until; index++) scores.push(detector.update(timestamps[index] ?? 0, values[index] ?? 0));
  return scores;
}

const rate = (hits: number, total: number) => (total === 0 ? 0 : hits / total);

export function backtestAutoencoder(
  series: { timestamps: readonly number[]; values: readonly number[] },
  heldOutFrom: number,
  autoencoderScore: (lastValues: readonly number[]) => number,
  alertScore: number,
): AutoencoderBacktest {
  const { timestamps, values } = series;
  const heldOut = values.length - heldOutFrom;
  const windowAt = (data: readonly number[], index: number) => data.slice(Math.max(0, index + 1 - WINDOW), index + 1);

  const size = spikeSize(values.slice(0, heldOutFrom));
  const positions = Math.min(MAX_SPIKES, Math.max(1, Math.floor(heldOut / POINTS_PER_SPIKE)));
  const injectAt = Array.from({ length: positions }, (_, position) => heldOutFrom + Math.floor(((position + 0.5) * heldOut) / positions));

  // One clean pass; the detector's state just before each injection point is kept, so every
  // injected run continues from it instead of replaying the whole history again.
  const detector = new RobustAnomalyDetector();
  robustScores(detector, timestamps, values, 0, heldOutFrom);
  const before = new Map<number, RobustAnomalyDetector>();
  const cleanRobust: number[] = [];
  for (let index = heldOutFrom; index < values.length; index++) {
    if (injectAt.includes(index)) before.set(index, detector.clone());
    cleanRobust.push(detector.update(timestamps[index] ?? 0, values[index] ?? 0));
  }
  let robustFalse = 0;
  let combinedFalse = 0;
  cleanRobust.forEach((score, offset) => {
    const combined = Math.max(score, autoencoderScore(windowAt(values, heldOutFrom + offset)));
    if (score >= alertScore) robustFalse += 1;
    if (combined >= alertScore) combinedFalse += 1;
  });

  let robustHits = 0;
  let combinedHits = 0;
  for (const at of injectAt) {
    // At each position, a spike (one point) and a level shift (every later point), each in its own
    // run: the detector's quiet period after an alarm would hide the next one. A shift counts as
    // detected when an alarm comes within one window of its start.
    for (const kind of ['spike', 'level-shift'] as const) {
      const injected = values.map((value, index) => (index === at || (kind === 'level-shift' && index > at) ? value + size : value));
      const last = kind === 'spike' ? at + 1 : Math.min(values.length, at + WINDOW);
      const start = before.get(at);
      if (start === undefined) continue;
      const robust = robustScores(start.clone(), timestamps, injected, at, last);
      if (robust.some((score) => score >= alertScore)) robustHits += 1;
      if (robust.some((score, offset) => Math.max(score, autoencoderScore(windowAt(injected, at + offset))) >= alertScore)) combinedHits += 1;
    }
  }
  const spikes = positions * 2;

  const robust = { detection_rate: rate(robustHits, spikes), false_alarm_rate: rate(robustFalse, heldOut) };
  const combined = { detection_rate: rate(combinedHits, spikes), false_alarm_rate: rate(combinedFalse, heldOut) };
  const gain = (quality: ScorerQuality) => quality.detection_rate - quality.false_alarm_rate;
  return { held_out: heldOut, injected: spikes, spike_size: size, robust, combined, served_by: gain(combined) > gain(robust) ? 'robust+autoencoder' : 'robust' };
}
