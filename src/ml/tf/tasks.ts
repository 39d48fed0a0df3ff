import type { ModelArtifacts } from './artifacts.js';

/** Work sent to the training worker. Plain data only: it crosses a thread boundary. */
export type TrainingTask =
  | { kind: 'autoencoder'; windows: number[][]; epochs: number; batchSize: number }
  | { kind: 'fraud'; features: number[][]; labels: number[]; epochs: number; batchSize: number }
  | { kind: 'sellout'; sequences: number[][][]; targets: number[]; epochs: number; batchSize: number }
  /** `modelId` names a stored version, which the worker keeps loaded; without one (a model used once) it is disposed after use. */
  | { kind: 'sellout-predict'; modelId?: string; artifacts: ModelArtifacts; sequences: number[][][] };

export interface TrainingResult {
  artifacts: ModelArtifacts;
  initialLoss: number;
  finalLoss: number;
  /** Attempts made: a run that did not learn is retried once from a fresh initialisation. */
  attempts: number;
  /** Per-row model outputs on the training inputs (reconstruction errors, probabilities, predictions). */
  outputs: number[];
}

export type WorkerRequest = { id: number; task: TrainingTask };
export type WorkerResponse = { id: number; ok: true; result: TrainingResult | { predictions: number[] } } | { id: number; ok: false; error: string };
