import { matcherText, type Matcher } from '../../platform/matchers/index.js';
import type { RemoteLabel } from '../remote-write/codec.js';
import type { Sample } from '../sample.js';

/** The label the service adds to every series it writes, and forces into every read. */
export const TENANT_LABEL = 'tenant_id';
/** A pushed label of the tenant label's name keeps its value under this name, as Prometheus does with `honor_labels: false`. */
export const EXPORTED_TENANT_LABEL = `exported_${TENANT_LABEL}`;

/**
 * A sample's series as the time-series database stores it: `__name__` the metric, `job` the
 * service (a pushed `job` gives way to it, as in the Prometheus API), the pushed labels, and the
 * tenant, sorted by name as remote write requires.
 */
export function remoteSeriesLabels(tenantId: string, sample: Pick<Sample, 'name' | 'service' | 'labels'>): RemoteLabel[] {
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(sample.labels)) {
    if (value === '') continue;
    labels[name === TENANT_LABEL ? EXPORTED_TENANT_LABEL : name] = value;
  }
  labels['__name__'] = sample.name;
  labels['job'] = sample.service;
  labels[TENANT_LABEL] = tenantId;
  return Object.keys(labels)
    .sort()
    .map((name) => ({ name, value: labels[name] ?? '' }));
}

/** A series' labels as the caller sees them: without the tenant label the service added. */
export function withoutTenantLabel(labels: Readonly<Record<string, string>>): Record<string, string> {
  const visible: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) if (name !== TENANT_LABEL) visible[name] = value;
  return visible;
}

/**
 * A PromQL selector for a metric of the service, one service's when given, with the service's
 * matchers (`service` is `job`). The tenant is not in it: the read forces it.
 */
export function remoteSelector(name: string, service: string | undefined, matchers: readonly Matcher[]): string {
  const parts = [`__name__=${JSON.stringify(name)}`];
  if (service !== undefined) parts.push(`job=${JSON.stringify(service)}`);
  for (const matcher of matchers) parts.push(matcherText(matcher.name === 'service' ? { ...matcher, name: 'job' } : matcher));
  return `{${parts.join(',')}}`;
}
