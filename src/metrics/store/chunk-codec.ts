import { BitReader, BitWriter } from './bits.js';

/**
 * One series' samples in a compact chunk, as the Gorilla paper (Pelkonen et al., VLDB 2015) and
 * Prometheus' XOR chunks encode them:
 *
 * - header: sample count (32 bits), first timestamp (64-bit two's complement, epoch ms), first
 *   value (its 64 IEEE 754 bits);
 * - each later timestamp as the delta of its delta to the previous one (the first delta against
 *   0): `0` when unchanged, else `10`+14, `110`+17, `1110`+20 bits or `1111`+64 bits, two's
 *   complement. Regular scrapes cost one bit per sample; repeated and out-of-order timestamps
 *   are kept as they came;
 * - each later value XORed with the previous one's bits: `0` when equal, `10` + the meaningful
 *   bits when they fit the previous window of leading/trailing zeros, else `11` + 5 bits of
 *   leading zeros (at most 31) + 6 bits of length (64 as 0) + the meaningful bits.
 *
 * Values travel as raw bits, so NaN payloads, infinities and -0 come back exactly.
 */

const TIMESTAMP_BUCKETS = [
  { prefix: 0b10, prefixBits: 2, bits: 14 },
  { prefix: 0b110, prefixBits: 3, bits: 17 },
  { prefix: 0b1110, prefixBits: 4, bits: 20 },
] as const;

const MAX_SAMPLES = 0xffffffff;
/** Timestamps within +/-2^50 ms (+/-35,000 years) keep every delta of deltas a safe integer. */
const MAX_TIMESTAMP = 2 ** 50;

const float = new DataView(new ArrayBuffer(8));

function bitsOf(value: number): [number, number] {
  float.setFloat64(0, value);
  return [float.getUint32(0), float.getUint32(4)];
}

function valueOf(high: number, low: number): number {
  float.setUint32(0, high);
  float.setUint32(4, low);
  return float.getFloat64(0);
}

const trailingZeros32 = (word: number): number => (word === 0 ? 32 : 31 - Math.clz32(word & -word));
const leadingZeros64 = (high: number, low: number): number => (high !== 0 ? Math.clz32(high) : 32 + Math.clz32(low));
const trailingZeros64 = (high: number, low: number): number => (low !== 0 ? trailingZeros32(low) : 32 + trailingZeros32(high));

function shiftRight64(high: number, low: number, count: number): [number, number] {
  if (count === 0) return [high, low];
  if (count >= 32) return [0, high >>> (count - 32)];
  return [high >>> count, ((low >>> count) | (high << (32 - count))) >>> 0];
}

function shiftLeft64(high: number, low: number, count: number): [number, number] {
  if (count === 0) return [high, low];
  if (count >= 32) return [(low << (count - 32)) >>> 0, 0];
  return [((high << count) | (low >>> (32 - count))) >>> 0, (low << count) >>> 0];
}

export interface ChunkSamples {
  /** Epoch milliseconds, integers within +/-2^50, in arrival order. */
  timestamps: readonly number[];
  values: readonly number[];
}

function writeTimestampDelta(writer: BitWriter, deltaOfDelta: number): void {
  if (deltaOfDelta === 0) {
    writer.writeBit(false);
    return;
  }
  for (const bucket of TIMESTAMP_BUCKETS) {
    const limit = 2 ** (bucket.bits - 1);
    if (deltaOfDelta >= -limit && deltaOfDelta < limit) {
      writer.write(bucket.prefix, bucket.prefixBits);
      writer.write(deltaOfDelta & ((1 << bucket.bits) - 1), bucket.bits);
      return;
    }
  }
  writer.write(0b1111, 4);
  writer.writeInt64(deltaOfDelta);
}

function readTimestampDelta(reader: BitReader): number {
  if (!reader.readBit()) return 0;
  // Bucket i's prefix is i+1 ones then a zero; four ones mean the 64-bit form.
  for (const bucket of TIMESTAMP_BUCKETS) if (!reader.readBit()) return signed(reader.read(bucket.bits), bucket.bits);
  return reader.readInt64();
}

const signed = (word: number, bits: number): number => (word >= 2 ** (bits - 1) ? word - 2 ** bits : word);

export function encodeChunk(samples: ChunkSamples): Uint8Array {
  const { timestamps, values } = samples;
  if (timestamps.length !== values.length) throw new RangeError('timestamps and values differ in length');
  if (timestamps.length > MAX_SAMPLES) throw new RangeError('too many samples for one chunk');
  const writer = new BitWriter(Math.max(16, timestamps.length * 2));
  writer.write(timestamps.length, 32);
  if (timestamps.length === 0) return writer.finish();

  const checked = (timestamp: number): number => {
    if (!Number.isInteger(timestamp) || Math.abs(timestamp) > MAX_TIMESTAMP) throw new RangeError(`timestamp ${timestamp} is not an integer within +/-2^50`);
    return timestamp;
  };
  let previousTimestamp = checked(timestamps[0] ?? 0);
  let previousDelta = 0;
  writer.writeInt64(previousTimestamp);
  let [previousHigh, previousLow] = bitsOf(values[0] ?? 0);
  writer.write64(previousHigh, previousLow, 64);
  let windowLeading = -1;
  let windowTrailing = 0;

  for (let index = 1; index < timestamps.length; index += 1) {
    const timestamp = checked(timestamps[index] ?? 0);
    const delta = timestamp - previousTimestamp;
    writeTimestampDelta(writer, delta - previousDelta);
    previousDelta = delta;
    previousTimestamp = timestamp;

    const [high, low] = bitsOf(values[index] ?? 0);
    const xorHigh = (high ^ previousHigh) >>> 0;
    const xorLow = (low ^ previousLow) >>> 0;
    previousHigh = high;
    previousLow = low;
    if (xorHigh === 0 && xorLow === 0) {
      writer.writeBit(false);
      continue;
    }
    writer.writeBit(true);
    const leading = Math.min(31, leadingZeros64(xorHigh, xorLow));
    const trailing = trailingZeros64(xorHigh, xorLow);
    if (windowLeading !== -1 && leading >= windowLeading && trailing >= windowTrailing) {
      writer.writeBit(false);
      const [meaningfulHigh, meaningfulLow] = shiftRight64(xorHigh, xorLow, windowTrailing);
      writer.write64(meaningfulHigh, meaningfulLow, 64 - windowLeading - windowTrailing);
      continue;
    }
    writer.writeBit(true);
    const length = 64 - leading - trailing;
    writer.write(leading, 5);
    writer.write(length === 64 ? 0 : length, 6);
    const [meaningfulHigh, meaningfulLow] = shiftRight64(xorHigh, xorLow, trailing);
    writer.write64(meaningfulHigh, meaningfulLow, length);
    windowLeading = leading;
    windowTrailing = trailing;
  }
  return writer.finish();
}

export function decodeChunk(bytes: Uint8Array): { timestamps: number[]; values: number[] } {
  const reader = new BitReader(bytes);
  const count = reader.read(32);
  const timestamps = new Array<number>(count);
  const values = new Array<number>(count);
  if (count === 0) return { timestamps, values };

  let timestamp = reader.readInt64();
  let delta = 0;
  let [high, low] = reader.read64(64);
  timestamps[0] = timestamp;
  values[0] = valueOf(high, low);
  let windowLeading = 0;
  let windowTrailing = 0;

  for (let index = 1; index < count; index += 1) {
    delta += readTimestampDelta(reader);
    timestamp += delta;
    timestamps[index] = timestamp;

    if (reader.readBit()) {
      if (reader.readBit()) {
        windowLeading = reader.read(5);
        const length = reader.read(6) || 64;
        windowTrailing = 64 - windowLeading - length;
      }
      const [meaningfulHigh, meaningfulLow] = reader.read64(64 - windowLeading - windowTrailing);
      const [xorHigh, xorLow] = shiftLeft64(meaningfulHigh, meaningfulLow, windowTrailing);
      high = (high ^ xorHigh) >>> 0;
      low = (low ^ xorLow) >>> 0;
    }
    values[index] = valueOf(high, low);
  }
  return { timestamps, values };
}
