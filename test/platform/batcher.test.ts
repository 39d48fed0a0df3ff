import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/platform/batcher.js';

describe('batcher (group commit)', () => {
  it('calls of one tick go in one batch; calls during a flush wait for the next; each gets its own answer', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const double = createBatcher<number, number>(async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await gate;
      return items.map((item) => item * 2);
    }, 100);
    const first = [1, 2, 3].map((n) => double(n));
    await new Promise((resolve) => setImmediate(resolve));
    const second = [4, 5].map((n) => double(n));
    release();
    expect(await Promise.all([...first, ...second])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('splits at the batch size, and a failed flush rejects only its own calls', async () => {
    const sizes: number[] = [];
    const check = createBatcher<number, string>(async (items) => {
      sizes.push(items.length);
      if (items.includes(13)) throw new Error('unlucky batch');
      return items.map(String);
    }, 2);
    const results = await Promise.allSettled([1, 13, 3, 4].map((n) => check(n)));
    expect(sizes).toEqual([2, 2]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it('a flush answering the wrong number of results rejects its calls instead of leaving them hanging', async () => {
    const broken = createBatcher<number, number>(async () => [1], 10);
    await expect(Promise.all([broken(1), broken(2)])).rejects.toThrow(/answered 1 results for 2 items/);
  });
});
