import { Type, type Static } from '@sinclair/typebox';

export const METRIC_NAME_PATTERN = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
export const LABEL_NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_]*$';

export const SampleSchema = Type.Object(
  {
    name: Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 200, examples: ['orders_per_minute'] }),
    service: Type.String({ minLength: 1, maxLength: 100, examples: ['ticket'] }),
    value: Type.Number({ examples: [42], description: "a counter's value is an increment (0 or more, at most 2^53) since the sender's last sample; the service stores the running total, as Prometheus does" }),
    type: Type.Optional(
      Type.Union([Type.Literal('counter'), Type.Literal('gauge')], {
        description: 'counter: `value` is an increment added to the series\' running total; gauge (default, except for the catalogue\'s counters such as tickets_sold_total): `value` is stored as sent',
      }),
    ),
    labels: Type.Optional(Type.Record(Type.String({ pattern: LABEL_NAME_PATTERN, maxLength: 100 }), Type.String({ maxLength: 500 }), { examples: [{ region: 'eu-west' }] })),
    timestamp: Type.Optional(
      Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: 0 })], {
        description: 'ISO 8601 or ms since epoch; default: the time of receipt; within the retention and at most 10 minutes ahead',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SampleInput = Static<typeof SampleSchema>;

/** A validated sample as stored. */
export interface Sample {
  name: string;
  service: string;
  /** As stored: a pushed counter's running total once ingest has added `increment` to it. */
  value: number;
  /** A counter pushed as an increment (the push API's counters): what was sent. */
  increment?: number;
  labels: Record<string, string>;
  timestamp: Date;
  seriesKey: string;
}

/** Identity of a series: name, service and the sorted label set. */
export function seriesKeyOf(name: string, service: string, labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`)
    .join(',');
  return `${name}|${service}|{${canonical}}`;
}

const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);
const LABEL_NAME = new RegExp(LABEL_NAME_PATTERN);

/** What the push API's schema refuses of a series, for the ingest paths whose bodies no JSON schema sees (remote write, OTLP). */
export function seriesProblem(name: string | undefined, service: string, labels: Record<string, string>): string | undefined {
  if (name === undefined || name === '') return 'has no __name__ label';
  if (name.length > 200 || !METRIC_NAME.test(name)) return `has an invalid metric name ${JSON.stringify(name.slice(0, 200))}`;
  if (service.length > 100 || service.includes('\u0000')) return 'has an invalid job label (at most 100 characters, no NUL)';
  for (const [label, value] of Object.entries(labels)) {
    if (label.length > 100 || !LABEL_NAME.test(label)) return `has an invalid label name ${JSON.stringify(label.slice(0, 100))}`;
    if (value.length > 500 || value.includes('\u0000')) return `has an invalid value of label ${label} (at most 500 characters, no NUL)`;
  }
  return undefined;
}

