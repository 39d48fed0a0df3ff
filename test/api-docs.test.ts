import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_BEGIN, generatedPages, pageOf } from '../scripts/api-docs.js';

describe('generated API reference in docs/', () => {
  it('every page shows the requests and responses the route schemas define now (run `npm run docs:api` after changing a route)', async () => {
    const pages = await generatedPages();
    for (const [file, expected] of pages) {
      const actual = readFileSync(file, 'utf8');
      expect(actual.includes(API_BEGIN), `${file} has a generated block`).toBe(true);
      expect(actual, `${file} is not current: run npm run docs:api`).toBe(expected);
    }
  }, 120_000);

  it('a route no page covers is refused, so a new route cannot go undocumented', () => {
    expect(pageOf('/api/v1/monitoring/alerts/silences')).toBe('docs/alerting.md');
    expect(pageOf('/health/live')).toBe('docs/operations.md');
    expect(pageOf('/health/payment')).toBe('docs/health-sla-incidents.md');
    expect(pageOf('/metrics')).toBe('docs/metrics.md');
    expect(() => pageOf('/api/v1/monitoring/metricsx')).toThrow(/No docs page covers/);
    expect(() => pageOf('/api/v2/new')).toThrow(/No docs page covers/);
  });
});
