/** A trained model as stored: tf.io artifacts split into JSON parts and the raw weight bytes. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

export interface ModelArtifacts {
  topology: unknown;
  weightSpecs: WeightSpec[];
  weights: Uint8Array;
}

export interface DenseLayer {
  inputs: number;
  units: number;
  activation: string;
  kernel: Float32Array;
  bias: Float32Array;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Dense layers of a Sequential topology, in order, with their activation names. */
function denseConfigs(topology: unknown): Array<{ units: number; activation: string }> {
  const config = isRecord(topology) ? topology.config : undefined;
  const layers = isRecord(config) && Array.isArray(config.layers) ? (config.layers as unknown[]) : Array.isArray(config) ? (config as unknown[]) : [];
  const dense: Array<{ units: number; activation: string }> = [];
  for (const layer of layers) {
    if (!isRecord(layer) || layer.class_name !== 'Dense' || !isRecord(layer.config)) continue;
    const units = layer.config.units;
    const activation = layer.config.activation;
    if (typeof units !== 'number') throw new Error('dense layer without units');
    dense.push({ units, activation: typeof activation === 'string' ? activation : 'linear' });
  }
  return dense;
}

/** Reads the kernels and biases of a dense-only model, so it can run without TensorFlow. */
export function denseLayersOf(artifacts: ModelArtifacts): DenseLayer[] {
  const configs = denseConfigs(artifacts.topology);
  const bytes = artifacts.weights;
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  const take = (spec: WeightSpec | undefined): Float32Array => {
    if (spec === undefined || spec.dtype !== 'float32') throw new Error('unexpected weight layout');
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const slice = floats.subarray(offset, offset + size);
    offset += size;
    return slice;
  };
  return configs.map((config, index) => {
    const kernelSpec = artifacts.weightSpecs[index * 2];
    const kernel = take(kernelSpec);
    const bias = take(artifacts.weightSpecs[index * 2 + 1]);
    return { inputs: kernelSpec?.shape[0] ?? 0, units: config.units, activation: config.activation, kernel, bias };
  });
}

const activations: Record<string, (x: number) => number> = {
  linear: (x) => x,
  relu: (x) => (x > 0 ? x : 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
};

/** Forward pass of dense layers (row-major kernels [inputs, units], as TensorFlow.js stores them). */
export function denseForward(layers: readonly DenseLayer[], input: readonly number[]): number[] {
  let current = Float64Array.from(input);
  for (const layer of layers) {
    const activate = activations[layer.activation];
    if (activate === undefined) throw new Error(`unsupported activation ${layer.activation}`);
    const next = new Float64Array(layer.units);
    for (let j = 0; j < layer.units; j++) next[j] = layer.bias[j] ?? 0;
    for (let i = 0; i < layer.inputs; i++) {
      const x = current[i] ?? 0;
      if (x === 0) continue;
      const row = i * layer.units;
      for (let j = 0; j < layer.units; j++) next[j] = (next[j] ?? 0) + x * (layer.kernel[row + j] ?? 0);
    }
    for (let j = 0; j < layer.units; j++) next[j] = activate(next[j] ?? 0);
    current = next;
  }
  return Array.from(current);
}
