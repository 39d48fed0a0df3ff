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

describe('the fair transaction queue with a pool', () => {
  const gate = () => {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { opened, open };
  };

  it('holds one tenant to its share of the connections and hands the next free one to a tenant that waits', async () => {
    const queue = createFairQueue({ capacity: 4, perKey: 2 });
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const started: string[] = [];
    const release = gate();
    const task = (key: string, name: string) => async () => {
      running.set(key, (running.get(key) ?? 0) + 1);
      most.set(key, Math.max(most.get(key) ?? 0, running.get(key) ?? 0));
      started.push(name);
      await release.opened;
      running.set(key, (running.get(key) ?? 1) - 1);
      return name;
    };
    const burst = Array.from({ length: 8 }, (_, index) => queue.run('a', task('a', `a${index}`)));
    const other = queue.run('b', task('b', 'b0'));
    await Promise.resolve();
    // a holds its two connections; b starts at once on a third although eight of a's arrived first.
    expect(started).toEqual(['a0', 'a1', 'b0']);
    expect(queue.waiting()).toBe(6);
    release.open();
    await Promise.all([...burst, other]);
    expect(most.get('a')).toBe(2);
    expect(queue.waiting()).toBe(0);
  });

  it('gives up on a turn that does not come within the wait limit, and forgets the waiter', async () => {
    const queue = createFairQueue({ capacity: 1, perKey: 1, maxWaitMs: 20, onTimeout: () => new Error('no connection in time') });
    const release = gate();
    const holder = queue.run('a', () => release.opened.then(() => 'held'));
    const late = queue.run('b', async () => 'never');
    await expect(late).rejects.toThrow('no connection in time');
    expect(queue.waiting()).toBe(0);
    release.open();
    await expect(holder).resolves.toBe('held');
    await expect(queue.run('b', async () => 'after')).resolves.toBe('after');
  });
});
