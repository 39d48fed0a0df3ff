import { Type, type Static } from '@sinclair/typebox';

export const METRIC_NAME_PATTERN = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
export const LABEL_NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_]*$';

export const SampleSchema = Type.Object(
  {
    name: Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 200, examples: ['orders_per_minute'] }),
    service: Type.String({ minLength: 1, maxLength: 100, examples: ['ticket'] }),
    value: Type.Number({ examples: [42] }),
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
  value: number;
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
