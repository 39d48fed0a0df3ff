import type { SampleRow } from './samples.repository.js';

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
};

/** The types a family of one metric name can be given; a histogram's series need their family's name. */
const SINGLE_NAME_TYPES = new Set(['counter', 'gauge']);

/**
 * Stored samples as Prometheus text format 0.0.4, one family per metric name: `counter` or `gauge`
 * where `types` says so for every series of the name (counters are stored as running totals,
 * whichever way they came in), otherwise `untyped`. The service becomes the `service`
 * label; a sample label of that name that differs is kept as `exported_service`, the way
 * Prometheus renames clashing target labels. Timestamps are the samples' own, in ms.
 */
export function renderExposition(rows: readonly SampleRow[], types: ReadonlyMap<string, string> = new Map()): string {
  const byName = new Map<string, SampleRow[]>();
  for (const row of rows) {
    const family = byName.get(row.metric_name);
    if (family === undefined) byName.set(row.metric_name, [row]);
    else family.push(row);
  }
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const type = types.get(name);
    lines.push(`# HELP ${name} Latest stored value per series of ${name}`, `# TYPE ${name} ${type !== undefined && SINGLE_NAME_TYPES.has(type) ? type : 'untyped'}`);
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
