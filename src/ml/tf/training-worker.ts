import { parentPort } from 'node:worker_threads';
import { runTraining } from './models.js';
import type { WorkerRequest, WorkerResponse } from './tasks.js';
import { loadTf } from './tf-runtime.js';

/** Worker thread entry: trains models off the main event loop, one task at a time. */
const port = parentPort;
if (port === null) throw new Error('training-worker must run in a worker thread');
const tf = await loadTf();
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    let response: WorkerResponse;
    try {
      response = { id: request.id, ok: true, result: await runTraining(tf, request.task) };
    } catch (error) {
      response = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    const transfer = response.ok && 'artifacts' in response.result ? [response.result.artifacts.weights.buffer as ArrayBuffer] : [];
    port.postMessage(response, transfer);
  });
});
port.postMessage({ ready: true });
