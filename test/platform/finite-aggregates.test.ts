import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finiteMean, finiteSum, SQL_SCALE_DOWN } from '../../src/platform/db/finite-aggregates.js';
import { createTestApp, type TestApp } from '../support/app.js';

// The aggregates every sum and mean of stored samples goes through, on this run's database,
// against what the exact arithmetic says.
let testApp: TestApp;
beforeAll(async () => {
  testApp = await createTestApp();
});
afterAll(async () => {
  await testApp.close();
});

async function aggregate(values: string[]): Promise<{ sum: number | null; mean: number | null }> {
  const rows = values.map((value) => `(${value}::float8)`).join(', ');
  const result = await testApp.container.db.asSystem((tx) =>
    tx.query<{ sum: number | null; mean: number | null }>(`SELECT ${finiteSum({ value: 'value' })} AS sum, ${finiteMean({ value: 'value' }, 'count(value)')} AS mean FROM (VALUES ${rows}) AS v(value)`),
  );
  const [row] = result.rows;
  if (row === undefined) throw new Error('no row');
  return row;
}

describe('sums and means that never raise', () => {
  it('keep the float8 result of ordinary values bit for bit', async () => {
    expect(await aggregate(['0.1', '0.2', '0.3'])).toEqual({ sum: 0.1 + 0.2 + 0.3, mean: (0.1 + 0.2 + 0.3) / 3 });
  });

  it('sum past the double range to +/-Infinity and average huge values to a finite mean', async () => {
    expect(await aggregate(['1e308', '1e308'])).toEqual({ sum: Number.POSITIVE_INFINITY, mean: 1e308 });
    expect(await aggregate(['-1e308', '-1e308', '-1e308'])).toEqual({ sum: Number.NEGATIVE_INFINITY, mean: -1e308 });
    expect(await aggregate(['1.7976931348623157e308', '1.7976931348623157e308'])).toEqual({ sum: Number.POSITIVE_INFINITY, mean: 1.7976931348623157e308 });
  });

  it('add huge values exactly: opposite ones cancel and ordinary ones beside them survive', async () => {
    expect(await aggregate(['1e308', '-1e308', '5'])).toEqual({ sum: 5, mean: 5 / 3 });
    expect(await aggregate(['1e300', '1e300', '2.5'])).toEqual({ sum: 2e300, mean: 2e300 / 3 });
    // The largest total that is still finite comes back finite.
    expect(await aggregate(['8.988465674311579e307', '8.988465674311579e307'])).toEqual({ sum: 1.7976931348623157e308, mean: 8.988465674311579e307 });
  });

  it('keep NaN and stored infinities as they are', async () => {
    expect(await aggregate(["'NaN'", '1e308'])).toEqual({ sum: Number.NaN, mean: Number.NaN });
    expect(await aggregate(["'Infinity'", '1'])).toEqual({ sum: Number.POSITIVE_INFINITY, mean: Number.POSITIVE_INFINITY });
  });

  it('scale a rollup total given as avg times count (its sum is Infinity)', async () => {
    const input = { value: 'sum', scaled: `avg * ${SQL_SCALE_DOWN} * n` };
    const result = await testApp.container.db.asSystem((tx) =>
      tx.query<{ total: number; mean: number }>(
        `SELECT ${finiteSum(input)} AS total, ${finiteMean(input, 'sum(n)')} AS mean FROM (VALUES ('Infinity'::float8, 1e308::float8, 2), (-1e308::float8, -1e308::float8, 1)) AS r(sum, avg, n)`,
      ),
    );
    expect(result.rows[0]).toEqual({ total: 1e308, mean: 1e308 / 3 });
  });
});
