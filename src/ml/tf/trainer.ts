import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TrainingResult, TrainingTask, WorkerResponse } from './tasks.js';

export interface Trainer {
  train(task: Exclude<TrainingTask, { kind: 'sellout-predict' }>): Promise<TrainingResult>;
  predict(task: Extract<TrainingTask, { kind: 'sellout-predict' }>): Promise<number[]>;
  /**
   * Whether this trainer's worker has loaded TensorFlow.js (the worker says so once the runtime is
   * ready). The runtime holds tens of MB, so it loads on the first task, never at start: this is
   * how tests see that an idle service has not loaded it.
   */
  runtimeLoaded(): boolean;
  close(): Promise<void>;
}

/**
 * Spawns the worker for compiled JS (dist) or, when running from TypeScript sources (tsx,
 * vitest), boots it through tsx's loader so the same worker file serves both.
 */
function spawnWorker(): Worker {
  const compiled = new URL('./training-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled);
  const source = new URL('./training-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { eval: true });
}

/** One lazily started training worker; tasks are queued in order, answers matched by id. */
export function createTrainer(): Trainer {
  let worker: Worker | undefined;
  let nextId = 1;
  let closed = false;
  let runtimeReady = false;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  const failAll = (error: Error) => {
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
    worker = undefined;
    runtimeReady = false;
  };

  const ensure = (): Worker => {
    if (worker !== undefined) return worker;
    const spawned = spawnWorker();
    spawned.unref();
    spawned.on('message', (message: WorkerResponse | { ready: true }) => {
      if ('ready' in message) {
        runtimeReady = true;
        return;
      }
      const entry = waiting.get(message.id);
      if (entry === undefined) return;
      waiting.delete(message.id);
      if (message.ok) entry.resolve(message.result);
      else entry.reject(new Error(message.error));
    });
    spawned.on('error', (error) => failAll(error));
    spawned.on('exit', (code) => {
      if (waiting.size > 0) failAll(new Error(`training worker exited with code ${code}`));
      worker = undefined;
      runtimeReady = false;
    });
    worker = spawned;
    return spawned;
  };

  const send = (task: TrainingTask): Promise<unknown> => {
    if (closed) return Promise.reject(new Error('trainer is closed'));
    const id = nextId++;
    const target = ensure();
    // Ref while work is pending so a CLI or bench waits for it; unref when idle.
    target.ref();
    return new Promise<unknown>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      target.postMessage({ id, task });
    }).finally(() => {
      if (waiting.size === 0) worker?.unref();
    });
  };

  return {
    async train(task) {
      return (await send(task)) as TrainingResult;
    },
    async predict(task) {
      const result = (await send(task)) as { predictions: number[] };
      return result.predictions;
    },
    runtimeLoaded: () => runtimeReady,
    async close() {
      closed = true;
      const current = worker;
      worker = undefined;
      failAll(new Error('trainer closed'));
      if (current !== undefined) await current.terminate();
    },
  };
}
