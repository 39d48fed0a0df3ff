import { describe, expect, it } from 'vitest';
import { createFairQueue } from '../../src/platform/db/fair-queue.js';

describe('the fair transaction queue', () => {
  it('runs one task at a time and gives a tenant that arrives behind a burst the next turn', async () => {
    const queue = createFairQueue();
    const order: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const task = (name: string) => async () => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await Promise.resolve();
      order.push(name);
      running -= 1;
      return name;
    };
    const burst = Array.from({ length: 6 }, (_, index) => queue.run('a', task(`a${index}`)));
    const other = queue.run('b', task('b0'));
    const third = queue.run('c', task('c0'));
    const later = queue.run('b', task('b1'));
    expect(queue.waiting()).toBe(8);
    expect(await Promise.all([...burst, other, third, later])).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'b0', 'c0', 'b1']);
    // a0 was running; then each waiting tenant takes a turn in the order it started waiting.
    expect(order).toEqual(['a0', 'a1', 'b0', 'c0', 'a2', 'b1', 'a3', 'a4', 'a5']);
    expect(mostAtOnce).toBe(1);
    expect(queue.waiting()).toBe(0);
  });

  it('a failing task rejects its caller only, and the queue goes on', async () => {
    const queue = createFairQueue();
    const failing = queue.run('a', async () => {
      throw new Error('boom');
    });
    const next = queue.run('b', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
    await expect(queue.run('a', async () => 'again')).resolves.toBe('again');
  });
});
