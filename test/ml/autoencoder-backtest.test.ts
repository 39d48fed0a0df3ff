import { describe, expect, it } from 'vitest';
import { backtestAutoencoder } from '../../src/ml/anomaly/autoencoder-backtest.js';

const STEP = 60_000;
// A daily-looking wave with a little deterministic jitter, 600 points; the last 100 are held out.
const values = Array.from({ length: 600 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 96) + ((i * 7919) % 13) / 4);
const timestamps = values.map((_, i) => i * STEP);
const heldOutFrom = 500;
/** A stand-in for a trained autoencoder: flags the last value when it leaves the wave's range. */
const rangeScorer = (last: readonly number[]) => ((last[last.length - 1] ?? 0) > 130 ? 0.99 : 0.01);

describe('autoencoder backtest', () => {
  it('injects spikes and level shifts one at a time into the held-out end and counts detections and false alarms of each scorer', () => {
    const result = backtestAutoencoder({ timestamps, values }, heldOutFrom, rangeScorer, 0.5);
    expect(result).toMatchObject({ held_out: 100, injected: 4, combined: { detection_rate: 1, false_alarm_rate: 0 } });
    expect(result.spike_size).toBeGreaterThan(30);
    expect(result.combined.detection_rate).toBeGreaterThanOrEqual(result.robust.detection_rate);
  });

  it('an autoencoder that adds nothing, or only false alarms, does not serve', () => {
    expect(backtestAutoencoder({ timestamps, values }, heldOutFrom, () => 0, 0.5).served_by).toBe('robust');
    const noisy = backtestAutoencoder({ timestamps, values }, heldOutFrom, () => 0.9, 0.5);
    expect(noisy.combined.false_alarm_rate).toBe(1);
    expect(noisy.served_by).toBe('robust');
  });

  it('the autoencoder does not join when the robust detector already catches every spike', () => {
    expect(backtestAutoencoder({ timestamps, values }, heldOutFrom, rangeScorer, 0.5)).toMatchObject({ robust: { detection_rate: 1, false_alarm_rate: 0 }, served_by: 'robust' });
  });

  it('the autoencoder joins when it detects what the robust detector misses without more false alarms', () => {
    // 25 points of history leave the robust detector cold: it scores nothing yet.
    const short = { timestamps: timestamps.slice(0, 45), values: values.slice(0, 45) };
    expect(backtestAutoencoder(short, 25, rangeScorer, 0.5)).toMatchObject({ robust: { detection_rate: 0 }, combined: { detection_rate: 1, false_alarm_rate: 0 }, served_by: 'robust+autoencoder' });
  });
});
