import { describe, expect, it } from 'vitest';
import { SortedWindow } from '../../src/ml/anomaly/rolling.js';

function windowOf(capacity: number, values: readonly number[]): SortedWindow {
  const window = new SortedWindow(capacity);
  for (const value of values) window.push(value);
  return window;
}

describe('SortedWindow', () => {
  it('gives the median absolute deviation around any center, odd and even sizes, after the oldest values left', () => {
    // Capacity 5 keeps 1, 2, 3, 4, 100 (the 50 and 60 pushed first have left).
    const odd = windowOf(5, [50, 60, 4, 100, 1, 3, 2]);
    expect(odd.median()).toBe(3);
    expect(odd.mad(3)).toBe(1); // deviations 0 1 1 2 97
    expect(odd.mad(0)).toBe(3); // 1 2 3 4 100
    expect(odd.mad(200)).toBe(197); // 100 196 197 198 199
    const even = windowOf(10, [10, 1, 7, 3]);
    expect(even.mad(5)).toBe(3); // deviations 2 2 4 5 -> (2 + 4) / 2
    expect(even.mad(2.5)).toBe(3); // 0.5 1.5 4.5 7.5 -> (1.5 + 4.5) / 2
    expect(windowOf(3, []).mad(1)).toBeNaN();
  });
});
