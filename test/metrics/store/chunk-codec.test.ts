import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunk } from '../../../src/metrics/store/chunk-codec.js';

// Seeded, so a failure reproduces: fast-check prints the seed and the shrunk counterexample.
const RUNS = { numRuns: 300, seed: 20261207 };
const LIMIT = 2 ** 50;

/** Values compared bit for bit: NaN equals NaN, -0 differs from 0. */
const sameValues = (decoded: readonly number[], original: readonly number[]) => decoded.length === original.length && decoded.every((value, index) => Object.is(value, original[index]));

const roundTrips = (timestamps: number[], values: number[]) => {
  const decoded = decodeChunk(encodeChunk({ timestamps, values }));
  expect(decoded.timestamps).toEqual(timestamps);
  expect(sameValues(decoded.values, values)).toBe(true);
};

const anyDouble = fc.double({ noDefaultInfinity: false, noNaN: false });
const adversarialDouble = fc.oneof(anyDouble, fc.constantFrom(Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1e308));

describe('the chunk codec (delta-of-delta timestamps, XOR values)', () => {
  it('round-trips any timestamps (repeated, out of order, extreme) and any doubles (NaN, infinities, -0, subnormals)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -LIMIT, max: LIMIT }), adversarialDouble), { maxLength: 300 }),
        (samples) => roundTrips(samples.map(([timestamp]) => timestamp), samples.map(([, value]) => value)),
      ),
      RUNS,
    );
  });

  it('round-trips scrape-like series: steady intervals with jitter and gaps, counters with resets, gauges that repeat', () => {
    const scrape = fc.record({
      start: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
      intervalMs: fc.constantFrom(1_000, 10_000, 15_000, 60_000),
      steps: fc.array(fc.record({ jitter: fc.integer({ min: -50, max: 50 }), gap: fc.boolean(), increment: fc.nat({ max: 1_000 }), reset: fc.boolean(), repeat: fc.boolean() }), { minLength: 1, maxLength: 400 }),
    });
    fc.assert(
      fc.property(scrape, ({ start, intervalMs, steps }) => {
        const timestamps: number[] = [];
        const values: number[] = [];
        let at = start;
        let counter = 0;
        for (const step of steps) {
          at += step.gap ? intervalMs * 7 : intervalMs + step.jitter;
          // A counter reset drops to a small value, as a restarted process reports it.
          counter = step.reset ? step.increment : step.repeat ? counter : counter + step.increment / 7;
          timestamps.push(at);
          values.push(counter);
        }
        roundTrips(timestamps, values);
      }),
      RUNS,
    );
  });

  it('stores a regular scrape of a slowly moving counter in a few bytes per sample, an empty chunk in four', () => {
    const timestamps = Array.from({ length: 3_600 }, (_, index) => 1_765_000_000_000 + index * 1_000);
    const values = timestamps.map((_, index) => 1_000 + Math.floor(index / 10));
    const bytes = encodeChunk({ timestamps, values });
    // Timestamps cost one bit each; a value equal to the previous costs one bit, a change a few more.
    expect(bytes.length / timestamps.length).toBeLessThan(1);
    expect(encodeChunk({ timestamps: [], values: [] })).toHaveLength(4);
    expect(decodeChunk(encodeChunk({ timestamps: [], values: [] }))).toEqual({ timestamps: [], values: [] });
  });

  it('refuses what it cannot keep exactly: fractional or out-of-range timestamps, mismatched lengths, a truncated chunk', () => {
    expect(() => encodeChunk({ timestamps: [1, 2.5], values: [1, 2] })).toThrow(RangeError);
    expect(() => encodeChunk({ timestamps: [2 ** 51], values: [1] })).toThrow(RangeError);
    expect(() => encodeChunk({ timestamps: [1, 2], values: [1] })).toThrow(RangeError);
    const bytes = encodeChunk({ timestamps: [1, 2, 30, 4_000], values: [1, 2, 3, 4] });
    expect(() => decodeChunk(bytes.slice(0, bytes.length - 2))).toThrow(RangeError);
  });
});
