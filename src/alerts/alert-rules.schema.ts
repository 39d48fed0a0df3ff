import { Type, type Static } from '@sinclair/typebox';
import { LABEL_NAME_PATTERN, METRIC_NAME_PATTERN } from '../metrics/sample.js';
import { SEVERITIES } from './alert-store.js';
import { MatcherSchema } from './matchers.js';

export const AGGREGATIONS = ['avg', 'min', 'max', 'last', 'sum', 'count', 'rate'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export const CONDITIONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Condition = (typeof CONDITIONS)[number];

const literals = <T extends string>(values: readonly T[], description?: string) => Type.Union(values.map((value) => Type.Literal(value)), description === undefined ? {} : { description });
const seconds = (description: string, maximum: number) => Type.Integer({ minimum: 0, maximum, description });

const Annotations = Type.Object(
  {
    summary: Type.Optional(Type.String({ maxLength: 1000 })),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    runbook_url: Type.Optional(Type.String({ format: 'uri', maxLength: 2000 })),
  },
  { additionalProperties: Type.String({ maxLength: 4000 }) },
);

// Null comes first in unions: with coerceTypes, ajv would otherwise turn null into "" or [""].
const fields = {
  rule_name: Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_.:-]*$', maxLength: 200 }),
  description: Type.Union([Type.Null(), Type.String({ maxLength: 2000 })]),
  metric_name: Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 200 }),
  service_name: Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 100 })]),
  label_matchers: Type.Array(MatcherSchema, { maxItems: 20 }),
  aggregation: literals(AGGREGATIONS),
  window_seconds: Type.Integer({ minimum: 1, maximum: 86_400, description: 'aggregation window' }),
  condition: literals(CONDITIONS),
  threshold: Type.Number(),
  duration: seconds('`for`: how long the condition must hold before firing', 86_400),
  keep_firing_for: seconds('how long a firing alert stays firing after the condition stops holding', 86_400),
  severity: literals(SEVERITIES),
  labels: Type.Record(Type.String({ pattern: LABEL_NAME_PATTERN, maxLength: 100 }), Type.String({ maxLength: 500 })),
  annotations: Annotations,
  cooldown_seconds: seconds('after a resolution, the same alert does not reopen before this', 7 * 86_400),
  no_data_state: literals(['ok', 'alerting'] as const, "'alerting' raises an explicit no-data alert when no series has samples in the window"),
  channels: Type.Union([Type.Null(), Type.Array(Type.String(), { maxItems: 4 })], { description: 'null = the channels of the tenant policy' }),
  enabled: Type.Boolean(),
};

export const RuleCreateSchema = Type.Object(
  {
    rule_name: fields.rule_name,
    metric_name: fields.metric_name,
    condition: fields.condition,
    threshold: fields.threshold,
    severity: fields.severity,
    description: Type.Optional(fields.description),
    service_name: Type.Optional(fields.service_name),
    label_matchers: Type.Optional(fields.label_matchers),
    aggregation: Type.Optional(fields.aggregation),
    window_seconds: Type.Optional(fields.window_seconds),
    duration: Type.Optional(fields.duration),
    keep_firing_for: Type.Optional(fields.keep_firing_for),
    labels: Type.Optional(fields.labels),
    annotations: Type.Optional(fields.annotations),
    cooldown_seconds: Type.Optional(fields.cooldown_seconds),
    no_data_state: Type.Optional(fields.no_data_state),
    channels: Type.Optional(fields.channels),
    enabled: Type.Optional(fields.enabled),
  },
  { additionalProperties: false },
);
export type RuleCreate = Static<typeof RuleCreateSchema>;

export const RuleUpdateSchema = Type.Partial(RuleCreateSchema, { additionalProperties: false, minProperties: 1 });
export type RuleUpdate = Static<typeof RuleUpdateSchema>;

export const RuleSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  ...fields,
  channels: fields.channels,
  is_default: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type Rule = Static<typeof RuleSchema>;
