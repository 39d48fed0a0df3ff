import type { SampleInput } from '../sample.js';
import type { ExportRequest, HistogramDataPoint, KeyValue, Metric, NumberDataPoint, SummaryDataPoint } from './codec.js';

/** Why a data point was not stored. */
export type SkipReason = 'negative_delta' | 'exponential_histogram' | 'no_value' | 'non_finite';

const DELTA = 1;
/** A data point flag: no value was recorded (the OTLP staleness marker). */
const NO_RECORDED_VALUE = 1;
/** Delta sums summed into running totals, per tenant and series, at most this many (least recent forgotten). */
const DELTA_TOTALS_MAX = 100_000;

/** Prometheus's names: what is not [a-zA-Z0-9_:] becomes _, and a leading digit gets a _ before it. */
export function prometheusName(name: string, allowColon: boolean): string {
  const cleaned = name.replace(allowColon ? /[^a-zA-Z0-9_:]/g : /[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** UCUM units the compatibility specification spells out as suffixes. */
const UNIT_SUFFIXES: Record<string, string> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds', min: 'minutes', h: 'hours', d: 'days', By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', '%': 'percent', m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams', Cel: 'celsius', Hz: 'hertz' };

/** The metric name with its unit suffix (and _total for a monotonic sum), as the compatibility specification builds it. */
export function metricName(metric: Metric): string {
  let name = prometheusName(metric.name ?? '', true);
  const unit = metric.unit ?? '';
  const suffix = UNIT_SUFFIXES[unit] ?? (unit === '1' && metric.gauge !== undefined ? 'ratio' : undefined);
  if (suffix !== undefined && !name.endsWith(`_${suffix}`)) name = `${name}_${suffix}`;
  if (metric.sum?.isMonotonic === true && !name.endsWith('_total')) name = `${name}_total`;
  return name;
}

function attributeValue(entry: KeyValue): string {
  const value = entry.value ?? {};
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  return JSON.stringify(value.arrayValue ?? value.kvlistValue ?? value.bytesValue ?? '');
}

function labelsOf(attributes: readonly KeyValue[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of attributes ?? []) {
    const name = prometheusName(entry.key, false);
    // Two keys that sanitise to one label: their values joined with ;, as the specification says.
    labels[name] = labels[name] === undefined ? attributeValue(entry) : `${labels[name]};${attributeValue(entry)}`;
  }
  return labels;
}

const millis = (nanos: number | string | undefined): number | undefined => (nanos === undefined ? undefined : Number(BigInt(nanos) / 1_000_000n));

export interface Translation {
  samples: SampleInput[];
  skipped: Map<SkipReason, number>;
}

/** Running totals of delta sums, so that they read as Prometheus counters (a restart starts them again, which rate() takes as a reset). */
export class DeltaTotals {
  private readonly totals = new Map<string, number>();

  add(key: string, delta: number): number {
    const total = (this.totals.get(key) ?? 0) + delta;
    this.totals.delete(key);
    this.totals.set(key, total);
    if (this.totals.size > DELTA_TOTALS_MAX) {
      const oldest = this.totals.keys().next();
      if (oldest.done !== true) this.totals.delete(oldest.value);
    }
    return total;
  }
}

/**
 * OTLP metrics as the push API's samples, following the OpenTelemetry-to-Prometheus compatibility
 * specification: `service.name` (with `service.namespace/` before it) is the job, hence the
 * service, `service.instance.id` the instance label; data point attributes are labels; gauges and
 * cumulative sums as they are, monotonic delta sums and delta histograms' counts as increments
 * (typed `counter`: ingest adds them to the series' stored totals), other delta sums summed in
 * memory; histograms as `_bucket`
 * (cumulative, with `le`), `_sum` and `_count`; summaries as quantiles, `_sum` and `_count`.
 */
export function translate(request: ExportRequest, tenantId: string, deltas: DeltaTotals, now: number): Translation {
  const samples: SampleInput[] = [];
  const skipped = new Map<SkipReason, number>();
  const skip = (reason: SkipReason, count = 1) => skipped.set(reason, (skipped.get(reason) ?? 0) + count);

  for (const resourceMetrics of request.resourceMetrics ?? []) {
    const resource = new Map((resourceMetrics.resource?.attributes ?? []).map((entry) => [entry.key, attributeValue(entry)]));
    const serviceName = resource.get('service.name') ?? 'unknown_service';
    const namespace = resource.get('service.namespace');
    const service = namespace === undefined ? serviceName : `${namespace}/${serviceName}`;
    const instance = resource.get('service.instance.id');
    const push: Push = (name, value, labels, timeUnixNano, increment = false) => {
      if (!Number.isFinite(value)) {
        skip('non_finite');
        return;
      }
      const withInstance = instance === undefined ? labels : { ...labels, instance };
      samples.push({ name, service, value, ...(increment ? { type: 'counter' as const } : {}), labels: withInstance, timestamp: millis(timeUnixNano) ?? now });
    };
    /** A non-monotonic delta sum (it may go down): summed in this instance's memory. */
    const inMemoryTotal = (name: string, labels: Record<string, string>, delta: number) => deltas.add(`${tenantId}\u0000${service}\u0000${name}\u0000${JSON.stringify(labels)}\u0000${instance ?? ''}`, delta);

    for (const scope of resourceMetrics.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        const name = metricName(metric);
        const numberPoints = (points: NumberDataPoint[] | undefined, kind: 'as sent' | 'increment' | 'in memory') => {
          for (const point of points ?? []) {
            if (((point.flags ?? 0) & NO_RECORDED_VALUE) !== 0) {
              skip('no_value');
              continue;
            }
            const value = point.asDouble ?? (point.asInt === undefined ? Number.NaN : Number(point.asInt));
            const labels = labelsOf(point.attributes);
            if (kind === 'increment' && value < 0) skip('negative_delta');
            else push(name, kind === 'in memory' ? inMemoryTotal(name, labels, value) : value, labels, point.timeUnixNano, kind === 'increment');
          }
        };
        if (metric.gauge !== undefined) numberPoints(metric.gauge.dataPoints, 'as sent');
        else if (metric.sum !== undefined) {
          // A monotonic delta sum is a counter's increments: ingest adds them to the series' stored total.
          const delta = metric.sum.aggregationTemporality === DELTA;
          numberPoints(metric.sum.dataPoints, !delta ? 'as sent' : metric.sum.isMonotonic === true ? 'increment' : 'in memory');
        } else if (metric.histogram !== undefined) {
          const delta = metric.histogram.aggregationTemporality === DELTA;
          for (const point of metric.histogram.dataPoints ?? []) histogramSamples(name, point, push, skip, delta ? inMemoryTotal : undefined);
        } else if (metric.summary !== undefined) for (const point of metric.summary.dataPoints ?? []) summarySamples(name, point, push, skip);
        else if (metric.exponentialHistogram !== undefined) skip('exponential_histogram', metric.exponentialHistogram.dataPoints?.length ?? 0);
      }
    }
  }
  return { samples, skipped };
}

type Push = (name: string, value: number, labels: Record<string, string>, timeUnixNano: number | string | undefined, increment?: boolean) => void;

/**
 * A histogram point as `_bucket` (cumulative over `le`), `_sum` and `_count`. A delta point's
 * bucket counts and count are increments (ingest adds them to the stored totals); its sum may go
 * down (negative observations), so `deltaSum` sums it in this instance's memory.
 */
function histogramSamples(name: string, point: HistogramDataPoint, push: Push, skip: (reason: SkipReason) => void, deltaSum?: (name: string, labels: Record<string, string>, delta: number) => number): void {
  if (((point.flags ?? 0) & NO_RECORDED_VALUE) !== 0) {
    skip('no_value');
    return;
  }
  const labels = labelsOf(point.attributes);
  const bounds = point.explicitBounds ?? [];
  const increment = deltaSum !== undefined;
  let cumulative = 0;
  (point.bucketCounts ?? []).forEach((count, index) => {
    cumulative += Number(count);
    const bound = bounds[index];
    if (bound !== undefined) push(`${name}_bucket`, cumulative, { ...labels, le: String(bound) }, point.timeUnixNano, increment);
  });
  push(`${name}_bucket`, Number(point.count ?? 0), { ...labels, le: '+Inf' }, point.timeUnixNano, increment);
  if (point.sum !== undefined) push(`${name}_sum`, deltaSum === undefined ? point.sum : deltaSum(`${name}_sum`, labels, point.sum), labels, point.timeUnixNano);
  push(`${name}_count`, Number(point.count ?? 0), labels, point.timeUnixNano, increment);
}

function summarySamples(name: string, point: SummaryDataPoint, push: Push, skip: (reason: SkipReason) => void): void {
  if (((point.flags ?? 0) & NO_RECORDED_VALUE) !== 0) {
    skip('no_value');
    return;
  }
  const labels = labelsOf(point.attributes);
  for (const quantile of point.quantileValues ?? []) push(name, quantile.value ?? Number.NaN, { ...labels, quantile: String(quantile.quantile ?? 0) }, point.timeUnixNano);
  push(`${name}_sum`, point.sum ?? 0, labels, point.timeUnixNano);
  push(`${name}_count`, Number(point.count ?? 0), labels, point.timeUnixNano);
}
