import type { RemoteTimeSeries } from '../../../src/metrics/remote-write/codec.js';

/**
 * The data and queries both Prometheus and the service answer in the comparison (the test runs
 * a reduced corpus; bench/promql-compare.bench.ts the whole one). Every series has a job label
 * (the service's job is its service name). Deterministic: a seeded generator.
 */
export const STEP_MS = 15_000;
export const SPAN_MS = 60 * 60_000;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

export function generateSeries(endMs: number): RemoteTimeSeries[] {
  const next = random(42);
  const start = endMs - SPAN_MS;
  const times = Array.from({ length: SPAN_MS / STEP_MS + 1 }, (_, index) => start + index * STEP_MS);
  const series: RemoteTimeSeries[] = [];
  const labels = (entries: Record<string, string>) => Object.entries(entries).map(([name, value]) => ({ name, value }));
  for (const instance of ['i1', 'i2', 'i3']) {
    for (const code of ['200', '500']) {
      let total = 0;
      series.push({
        labels: labels({ __name__: 'http_requests_total', job: 'api', instance, code }),
        samples: times.map((timestamp, index) => {
          // A counter reset on one series, halfway.
          if (instance === 'i2' && code === '200' && index === 120) total = 0;
          total += Math.floor(next() * (code === '200' ? 50 : 5));
          return { timestamp, value: total };
        }),
      });
    }
  }
  for (const room of ['a', 'b', 'c']) {
    let temperature = 20 + next() * 5;
    series.push({
      labels: labels({ __name__: 'room_temperature_celsius', job: 'sensors', room }),
      // Room c stops reporting 20 minutes before the end: lookback and absence both show.
      samples: times.filter((timestamp) => room !== 'c' || timestamp <= endMs - 20 * 60_000).map((timestamp) => {
        temperature += (next() - 0.5) * 0.8;
        return { timestamp, value: Math.round(temperature * 100) / 100 };
      }),
    });
  }
  series.push({ labels: labels({ __name__: 'queue_depth', job: 'worker', queue: 'mail' }), samples: times.map((timestamp) => ({ timestamp, value: Math.floor(next() * 10) - 3 })) });
  // A classic histogram per instance: cumulative bucket counts that grow with every observation.
  const bounds = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
  for (const instance of ['i1', 'i2']) {
    const counts = bounds.map(() => 0);
    const perTime = times.map(() => {
      for (let observation = 0; observation < 5; observation += 1) {
        const seconds = next() ** 2 * (instance === 'i1' ? 0.6 : 1.2);
        bounds.forEach((bound, index) => {
          if (bound === '+Inf' || seconds <= Number(bound)) counts[index] = (counts[index] ?? 0) + 1;
        });
      }
      return [...counts];
    });
    bounds.forEach((le, index) =>
      series.push({ labels: labels({ __name__: 'request_duration_seconds_bucket', job: 'api', instance, le }), samples: times.map((timestamp, at) => ({ timestamp, value: perTime[at]?.[index] ?? 0 })) }),
    );
  }
  return series;
}

/** Queries across the supported language: selectors, functions, aggregations, operators, modifiers. */
export const QUERIES: string[] = [
  'http_requests_total',
  'http_requests_total{code="500"}',
  'http_requests_total{code!="500", instance=~"i[12]"}',
  '{__name__=~"room_.*", room!~"c"}',
  'http_requests_total offset 10m',
  'rate(http_requests_total[5m])',
  'rate(http_requests_total[1m])',
  'irate(http_requests_total[5m])',
  'increase(http_requests_total[10m])',
  'increase(http_requests_total{instance="i2"}[30m])',
  'resets(http_requests_total[30m])',
  'changes(queue_depth[10m])',
  'delta(room_temperature_celsius[10m])',
  'idelta(room_temperature_celsius[5m])',
  'avg_over_time(room_temperature_celsius[10m])',
  'min_over_time(room_temperature_celsius[10m])',
  'max_over_time(room_temperature_celsius[10m])',
  'sum_over_time(queue_depth[5m])',
  'count_over_time(room_temperature_celsius[7m])',
  'last_over_time(room_temperature_celsius[30m])',
  'stddev_over_time(room_temperature_celsius[10m])',
  'sum(rate(http_requests_total[5m]))',
  'sum by (code) (rate(http_requests_total[5m]))',
  'sum without (instance) (rate(http_requests_total[5m]))',
  'avg by (instance) (http_requests_total)',
  'max(room_temperature_celsius)',
  'min by (job) (room_temperature_celsius)',
  'count(http_requests_total)',
  'count by (code) (http_requests_total > 1000)',
  'topk(2, rate(http_requests_total[5m]))',
  'bottomk(1, room_temperature_celsius)',
  'quantile(0.9, room_temperature_celsius)',
  'stddev(room_temperature_celsius)',
  'group by (job) (http_requests_total)',
  'sum by (instance) (rate(http_requests_total{code="500"}[5m])) / sum by (instance) (rate(http_requests_total[5m]))',
  'rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])',
  'http_requests_total / on(instance, code) http_requests_total',
  'room_temperature_celsius * 1.8 + 32',
  '2 * room_temperature_celsius - 10',
  'room_temperature_celsius > 22',
  'room_temperature_celsius > bool 22',
  '22 < room_temperature_celsius',
  'queue_depth % 3',
  'queue_depth ^ 2',
  '-queue_depth',
  'abs(queue_depth)',
  'clamp_min(queue_depth, 0)',
  'clamp_max(queue_depth, 4)',
  'ceil(room_temperature_celsius)',
  'floor(room_temperature_celsius)',
  'round(room_temperature_celsius)',
  'sqrt(room_temperature_celsius)',
  'http_requests_total{code="500"} and on(instance) http_requests_total{code="200"} > 2000',
  'room_temperature_celsius unless room_temperature_celsius{room="a"}',
  'room_temperature_celsius{room="a"} or queue_depth',
  'absent(nonexistent_metric{job="x"})',
  'absent(room_temperature_celsius)',
  'vector(1)',
  'scalar(max(room_temperature_celsius))',
  'time()',
  '1 + 2 * 3',
  'room_temperature_celsius @ end()',
  'sum(rate(http_requests_total[5m] offset 5m))',
  'histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))',
  'histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.99, sum by (le, instance) (increase(request_duration_seconds_bucket[10m])))',
  'histogram_quantile(0, request_duration_seconds_bucket)',
  'histogram_quantile(1, request_duration_seconds_bucket)',
  'histogram_quantile(1.5, request_duration_seconds_bucket)',
  'histogram_quantile(0.75, request_duration_seconds_bucket{le!="0.25"})',
  'sort(room_temperature_celsius)',
  'deriv(room_temperature_celsius[10m])',
  'deriv(http_requests_total[5m])',
  'predict_linear(room_temperature_celsius[10m], 600)',
  'predict_linear(queue_depth[15m], 3600)',
  'count_values("depth", queue_depth)',
  'count_values by (job) ("value", clamp_max(queue_depth, 2))',
  'absent_over_time(room_temperature_celsius{room="c"}[10m])',
  'absent_over_time(nonexistent{job="x"}[5m])',
  'label_replace(http_requests_total, "host", "$1", "instance", "i(.*)")',
  'label_replace(http_requests_total, "class", "${1}xx", "code", "([0-9])..")',
  'label_replace(room_temperature_celsius, "room", "", "room", "a")',
  'label_replace(queue_depth, "x", "$1$2", "queue", "(m)(a)il")',
  'label_join(http_requests_total, "id", "/", "instance", "code")',
  'sum by (class) (label_replace(rate(http_requests_total[5m]), "class", "$1xx", "code", "(.).."))',
  'sort_desc(rate(http_requests_total[5m]))',
  // Subqueries: aligned to multiples of their step, the default step is 1 minute.
  'max_over_time(rate(http_requests_total[5m])[30m:1m])',
  'max_over_time(rate(http_requests_total[5m])[30m:])',
  'avg_over_time(sum by (code) (rate(http_requests_total[1m]))[10m:30s])',
  'min_over_time(room_temperature_celsius[10m:15s])',
  'rate(http_requests_total[10m:1m])',
  'increase(http_requests_total{instance="i2"}[20m:2m])',
  'deriv(avg(room_temperature_celsius)[15m:1m])',
  'room_temperature_celsius[5m:1m]',
  'max_over_time(rate(http_requests_total[5m])[20m:1m] offset 10m)',
  'count_over_time(queue_depth[7m:45s])',
  'quantile_over_time(0.9, rate(http_requests_total[5m])[15m:1m])',
  'max_over_time(max_over_time(room_temperature_celsius[2m:30s])[10m:1m])',
  'sum_over_time(vector(1)[5m:1m])',
  'absent_over_time(nonexistent[5m:1m])',
  'max_over_time(3[5m:1m])',
  'quantile_over_time(0.5, room_temperature_celsius[10m])',
  'quantile_over_time(0.95, queue_depth[5m])',
  // Time functions: a sample's own time, and calendar fields in UTC.
  'timestamp(room_temperature_celsius)',
  'timestamp(rate(http_requests_total[5m]))',
  'minute(timestamp(queue_depth))',
  'hour()',
  'day_of_week()',
  'days_in_month()',
  'year(vector(1700000000))',
  'month(vector(1709251199))',
  'day_of_month(vector(1700000000))',
  'day_of_year(vector(1704067200))',
  'days_in_month(vector(1709251199))',
];

const SELECTORS = ['http_requests_total', 'http_requests_total{code="200"}', 'room_temperature_celsius', 'queue_depth'];
const RANGES = ['1m', '5m', '10m'];
const RANGE_FUNCTIONS = ['rate', 'irate', 'increase', 'delta', 'idelta', 'resets', 'changes', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'stddev_over_time', 'stdvar_over_time'];
const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
const GROUPINGS = ['', ' by (job)', ' by (instance)', ' without (instance)', ' by (code, instance)'];
const OPERATORS = ['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=', '> bool', '< bool'];
const OPERANDS: Array<[string, string]> = [
  ['http_requests_total', '3'],
  ['2', 'room_temperature_celsius'],
  ['rate(http_requests_total[5m])', 'rate(http_requests_total[1m])'],
  ['http_requests_total{code="500"}', 'ignoring(code) http_requests_total{code="200"}'],
];

/**
 * The whole corpus: the hand-written queries above, then every range function over every selector
 * and range, every aggregation with every grouping, and every operator between pairs of operands.
 */
export function fullCorpus(): string[] {
  const generated: string[] = [];
  for (const func of RANGE_FUNCTIONS) for (const selector of SELECTORS) for (const range of RANGES) generated.push(`${func}(${selector}[${range}])`);
  for (const op of AGGREGATIONS) for (const grouping of GROUPINGS) generated.push(`${op}${grouping} (http_requests_total)`, `${op}${grouping} (rate(http_requests_total[5m]))`);
  for (const op of OPERATORS) for (const [left, right] of OPERANDS) generated.push(`${left} ${op} ${right}`);
  return [...new Set([...QUERIES, ...generated])];
}

/** What the test runs: the hand-written queries and every seventh generated one. */
export const reducedCorpus = (): string[] => fullCorpus().filter((query, index) => QUERIES.includes(query) || index % 7 === 0);
