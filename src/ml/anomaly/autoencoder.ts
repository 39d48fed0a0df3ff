import { denseForward, denseLayersOf, type DenseLayer } from '../tf/artifacts.js';
import type { StoredModel } from '../model-store.js';
import type { AnomalyScorer } from './autoencoder-backtest.js';

export const WINDOW = 10;

export interface AutoencoderParams {
  min: number;
  max: number;
  /** 99th percentile of the reconstruction error on the training windows. */
  errorP99: number;
}

export function normalise(values: readonly number[], params: { min: number; max: number }): number[] {
  const span = params.max - params.min || 1;
  return values.map((value) => (value - params.min) / span);
}

/** Sliding windows of 10 normalised values (min-max of the training data), newest last. */
export function windowsOf(values: readonly number[], params: { min: number; max: number }, maxWindows: number): number[][] {
  const scaled = normalise(values, params);
  const windows: number[][] = [];
  for (let end = scaled.length; end >= WINDOW && windows.length < maxWindows; end--) windows.push(scaled.slice(end - WINDOW, end));
  return windows.reverse();
}

export function paramsOf(model: StoredModel): AutoencoderParams | undefined {
  const { min, max, errorP99 } = model.params;
  return typeof min === 'number' && typeof max === 'number' && typeof errorP99 === 'number' ? { min, max, errorP99 } : undefined;
}

/** A loaded autoencoder scoring windows on the main thread (a few thousand multiply-adds). */
export class AutoencoderScorer {
  private readonly layers: DenseLayer[];

  constructor(
    readonly version: number,
    private readonly params: AutoencoderParams,
    model: Pick<StoredModel, 'artifacts'>,
    /** Whether the backtest let this autoencoder join the robust detector; otherwise its score is shown only. */
    readonly servedBy: AnomalyScorer = 'robust',
  ) {
    this.layers = denseLayersOf(model.artifacts);
  }

  /** Reconstruction error of the last 10 values mapped to [0,1]: 0.5 at twice the training p99 error. */
  score(lastValues: readonly number[]): number {
    if (lastValues.length < WINDOW) return 0;
    const input = normalise(lastValues.slice(-WINDOW), this.params);
    const output = denseForward(this.layers, input);
    let error = 0;
    for (let i = 0; i < WINDOW; i++) error += ((output[i] ?? 0) - (input[i] ?? 0)) ** 2;
    error /= WINDOW;
    const reference = 2 * Math.max(this.params.errorP99, 1e-6);
    return error / (error + reference);
  }
}
