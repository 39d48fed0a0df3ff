import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE_ENTRIES } from '../../src/metrics/index.js';
import { bearer, createTestApp, type TestApp } from '../support/app.js';

const PROVISIONING = fileURLToPath(new URL('../../grafana/provisioning/', import.meta.url));
const systemTenant = randomUUID();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { SYSTEM_TENANT_ID: systemTenant } });
});
afterAll(async () => t.close());

interface Target {
  refId: string;
  target: string;
  type?: string;
  payload?: Record<string, unknown>;
  datasource?: { uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Array<{ title: string; datasource?: { uid: string }; targets?: Target[] }>;
  annotations: { list: Array<{ datasource: { uid: string }; query?: string }> };
}

const dashboards = readdirSync(`${PROVISIONING}dashboards/json`).map((file) => ({ file, dashboard: JSON.parse(readFileSync(`${PROVISIONING}dashboards/json/${file}`, 'utf8')) as Dashboard }));

describe('grafana/provisioning', () => {
  it('ships a data source pointing at /grafana with the bearer header, and the four dashboards', () => {
    const datasource = readFileSync(`${PROVISIONING}datasources/monitoring.yaml`, 'utf8');
    expect(datasource).toContain('uid: monitoring-service');
    expect(datasource).toContain('url: ${MONITORING_SERVICE_URL}/grafana');
    expect(datasource).toContain('httpHeaderValue1: Bearer ${MONITORING_GRAFANA_TOKEN}');
    expect(dashboards.map((entry) => entry.file).sort()).toEqual(['alerts.json', 'business.json', 'http-performance.json', 'system.json']);
    for (const { file, dashboard } of dashboards) {
      // The checks below loop over targets and annotations: a dashboard without any would pass them silently.
      expect({ file, targets: dashboard.panels.some((panel) => (panel.targets ?? []).length > 0) }).toEqual({ file, targets: true });
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe('monitoring-service');
      }
      for (const annotation of dashboard.annotations.list.filter((entry) => entry.datasource.uid === 'monitoring-service')) expect(['alerts', 'fraud']).toContain(annotation.query);
    }
  });

  it('every panel query is answered by the data source; system, HTTP and alert panels show series the collectors produce', async () => {
    const headers = { ...(await bearer(systemTenant, ['viewer'])), 'content-type': 'application/json' };
    await t.app.inject({ method: 'GET', url: '/grafana', headers });
    await t.container.selfCollectors.collectAll();
    await t.container.selfCollectors.collectAll();
    const search = await t.app.inject({ method: 'POST', url: '/grafana/search', headers, payload: '{}' });
    const produced = new Set(search.json<string[]>());
    const catalogue = new Set(CATALOGUE_ENTRIES.map((entry) => entry.name));
    const now = Date.now();
    for (const { file, dashboard } of dashboards) {
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) {
          const source = file === 'business.json' ? catalogue : produced;
          expect({ panel: panel.title, metric: target.target, known: source.has(target.target) }).toEqual({ panel: panel.title, metric: target.target, known: true });
          const response = await t.app.inject({
            method: 'POST',
            url: '/grafana/query',
            headers,
            payload: JSON.stringify({ range: { from: new Date(now - 3_600_000).toISOString(), to: new Date(now + 60_000).toISOString() }, intervalMs: 60_000, maxDataPoints: 500, targets: [target] }),
          });
          expect({ panel: panel.title, status: response.statusCode }).toEqual({ panel: panel.title, status: 200 });
          if (file !== 'business.json') expect({ panel: panel.title, answered: response.json<unknown[]>().length > 0 }).toEqual({ panel: panel.title, answered: true });
        }
      }
    }
  });
});
