import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

/**
 * TensorFlow.js (with its WebAssembly backend) is tens of MB of code and heap. An idle service
 * must not pay for it (issue 14, point 3): it loads in the training worker on the first task, and
 * never on the main thread. Node loads @tensorflow/tfjs as CommonJS (its package has no ESM
 * entry for Node), so a main-thread load shows in this process's require cache; the worker's own
 * load shows through Trainer.runtimeLoaded().
 */
const tensorflowOnMainThread = (): string[] => Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('@tensorflow'));

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

describe('the machine-learning runtime', () => {
  it('is not loaded by an idle app, and loads in the training worker only when a model trains', async () => {
    const { ml } = t.container;
    expect(tensorflowOnMainThread()).toEqual([]);
    expect(ml.trainer.runtimeLoaded()).toBe(false);
    expect(ml.inference.runtimeLoaded()).toBe(false);

    const windows = Array.from({ length: 16 }, (_, row) => Array.from({ length: 10 }, (_, column) => ((row + column) % 10) / 10));
    const trained = await ml.trainer.train({ kind: 'autoencoder', windows, epochs: 1, batchSize: 8 });

    expect(trained.outputs).toHaveLength(windows.length);
    expect(ml.trainer.runtimeLoaded()).toBe(true);
    // Prediction has its own worker, which a training run does not start.
    expect(ml.inference.runtimeLoaded()).toBe(false);
    expect(tensorflowOnMainThread()).toEqual([]);
  });
});
