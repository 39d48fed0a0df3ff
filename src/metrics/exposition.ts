import type { SampleRow } from './samples.repository.js';

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
};

/**
 * Stored samples as Prometheus text format 0.0.4, one `untyped` family per metric name (the
 * store does not know whether a pushed name is a counter). The service becomes the `service`
 * label; a sample label of that name that differs is kept as `exported_service`, the way
 * Prometheus renames clashing target labels. Timestamps are the samples' own, in ms.
 */
export function renderExposition(rows: readonly SampleRow[]): string {
  const byName = new Map<string, SampleRow[]>();
  for (const row of rows) {
    const family = byName.get(row.metric_name);
    if (family === undefined) byName.set(row.metric_name, [row]);
    else family.push(row);
  }
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    lines.push(`# HELP ${name} Latest stored value per series of ${name}`, `# TYPE ${name} untyped`);
    for (const row of byName.get(name) ?? []) {
      const labels: Record<string, string> = { ...row.labels };
      const pushedService = labels['service'];
      delete labels['service'];
      if (pushedService !== undefined && pushedService !== row.service_name) labels['exported_service'] = pushedService;
      labels['service'] = row.service_name;
      const rendered = Object.keys(labels)
        .sort()
        .map((key) => `${key}="${escapeLabel(labels[key] ?? '')}"`)
        .join(',');
      lines.push(`${name}{${rendered}} ${formatValue(row.value)} ${row.timestamp.getTime()}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
