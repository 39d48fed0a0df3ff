import type * as TF from '@tensorflow/tfjs';
import type { ModelArtifacts } from './artifacts.js';
import type { TrainingResult, TrainingTask } from './tasks.js';

type Tf = typeof TF;

/** The audit's autoencoder: windows of 10, 10 -> 32 -> 16 -> 8 -> 4 -> 8 -> 16 -> 32 -> 10. */
function autoencoder(tf: Tf): TF.Sequential {
  const model = tf.sequential();
  const units = [32, 16, 8, 4, 8, 16, 32];
  units.forEach((size, index) => model.add(tf.layers.dense(index === 0 ? { units: size, activation: 'relu', inputShape: [10] } : { units: size, activation: 'relu' })));
  model.add(tf.layers.dense({ units: 10, activation: 'sigmoid' }));
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
  return model;
}

/** The audit's fraud network: 10 -> 128 -> 64 -> 32 -> 1 (sigmoid). */
function fraudNetwork(tf: Tf): TF.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 128, activation: 'relu', inputShape: [10] }));
  model.add(tf.layers.dense({ units: 64, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 32, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'binaryCrossentropy' });
  return model;
}

/** The audit's sellout model: LSTM(128) -> LSTM(64) -> Dense(32) -> Dense(1). */
function selloutNetwork(tf: Tf, steps: number, features: number): TF.Sequential {
  const model = tf.sequential();
  // Glorot rather than the default orthogonal recurrent initialiser: orthogonal on 128 units is slow
  // in TensorFlow.js and warns on every build; sigmoid gates as in Keras' current default.
  const cell = { recurrentInitializer: 'glorotUniform', recurrentActivation: 'sigmoid' } as const;
  model.add(tf.layers.lstm({ units: 128, returnSequences: true, inputShape: [steps, features], ...cell }));
  model.add(tf.layers.lstm({ units: 64, ...cell }));
  model.add(tf.layers.dense({ units: 32, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
  return model;
}

async function toArtifacts(tf: Tf, model: TF.LayersModel): Promise<ModelArtifacts> {
  let saved: ModelArtifacts | undefined;
  // A custom tf.io handler: the artifacts go to the database row, not to a file or URL.
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const buffer = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      saved = { topology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs ?? [], weights: new Uint8Array(buffer) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved === undefined) throw new Error('model was not serialised');
  return saved;
}

async function fromArtifacts(tf: Tf, artifacts: ModelArtifacts): Promise<TF.LayersModel> {
  const weights = artifacts.weights;
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.topology as TF.io.ModelArtifacts['modelTopology'], weightSpecs: artifacts.weightSpecs as TF.io.WeightsManifestEntry[], weightData: buffer }));
}

const LOADED_MAX = 8;
const loaded = new Map<string, TF.LayersModel>();

/** Models used for prediction stay loaded (a few, least recently used out): parsing weights per call is wasted work. */
async function loadedModel(tf: Tf, modelId: string, artifacts: ModelArtifacts): Promise<TF.LayersModel> {
  const hit = loaded.get(modelId);
  if (hit !== undefined) {
    loaded.delete(modelId);
    loaded.set(modelId, hit);
    return hit;
  }
  const model = await fromArtifacts(tf, artifacts);
  loaded.set(modelId, model);
  for (const [id, old] of loaded) {
    if (loaded.size <= LOADED_MAX) break;
    loaded.delete(id);
    old.dispose();
  }
  return model;
}

async function fitChecked(tf: Tf, build: () => TF.Sequential, x: TF.Tensor, y: TF.Tensor, epochs: number, batchSize: number): Promise<{ model: TF.Sequential; initialLoss: number; finalLoss: number; attempts: number }> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const model = build();
    const history = await model.fit(x, y, { epochs, batchSize, shuffle: true, verbose: 0 });
    const losses = (history.history.loss ?? []).map(Number);
    const initialLoss = losses[0] ?? Number.NaN;
    const finalLoss = losses[losses.length - 1] ?? Number.NaN;
    // A run can start badly and not learn: retry once from a fresh initialisation.
    const learned = Number.isFinite(finalLoss) && (epochs < 3 || finalLoss < initialLoss * 0.98);
    if (learned || attempts >= 2) return { model, initialLoss, finalLoss, attempts };
    model.dispose();
  }
}

export async function runTraining(tf: Tf, task: TrainingTask): Promise<TrainingResult | { predictions: number[] }> {
  if (task.kind === 'sellout-predict') {
    const model = task.modelId === undefined ? await fromArtifacts(tf, task.artifacts) : await loadedModel(tf, task.modelId, task.artifacts);
    const input = tf.tensor3d(task.sequences);
    const output = model.predict(input) as TF.Tensor;
    const predictions = Array.from(await output.data());
    tf.dispose([input, output]);
    if (task.modelId === undefined) model.dispose();
    return { predictions };
  }
  const { x, y, build } =
    task.kind === 'autoencoder'
      ? { x: tf.tensor2d(task.windows), y: tf.tensor2d(task.windows), build: () => autoencoder(tf) }
      : task.kind === 'fraud'
        ? { x: tf.tensor2d(task.features), y: tf.tensor2d(task.labels, [task.labels.length, 1]), build: () => fraudNetwork(tf) }
        : { x: tf.tensor3d(task.sequences), y: tf.tensor2d(task.targets, [task.targets.length, 1]), build: () => selloutNetwork(tf, task.sequences[0]?.length ?? 1, task.sequences[0]?.[0]?.length ?? 1) };
  try {
    const fitted = await fitChecked(tf, build, x, y, task.epochs, task.batchSize);
    const predicted = fitted.model.predict(x) as TF.Tensor;
    const outputs =
      task.kind === 'autoencoder'
        ? Array.from(await tf.tidy(() => tf.mean(tf.square(tf.sub(predicted, x)), 1)).data())
        : Array.from(await predicted.data());
    predicted.dispose();
    const artifacts = await toArtifacts(tf, fitted.model);
    fitted.model.dispose();
    return { artifacts, initialLoss: fitted.initialLoss, finalLoss: fitted.finalLoss, attempts: fitted.attempts, outputs };
  } finally {
    tf.dispose([x, y]);
  }
}
