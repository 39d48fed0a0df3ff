import { Type, type Static } from '@sinclair/typebox';
import { NON_FINITE, type NonFinite } from '../platform/non-finite.js';

/** Grafana sends its whole options object: unknown keys are accepted and ignored everywhere. */
const open = { additionalProperties: true } as const;

export const RangeSchema = Type.Object({ from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }) }, open);

export const AdhocFilterSchema = Type.Object({ key: Type.String({ minLength: 1, maxLength: 100 }), operator: Type.String({ maxLength: 4 }), value: Type.String({ maxLength: 500 }) }, open);
export type AdhocFilter = Static<typeof AdhocFilterSchema>;

export const TargetPayloadSchema = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 100 })),
    aggregation: Type.Optional(Type.Union([Type.Literal('avg'), Type.Literal('sum'), Type.Literal('min'), Type.Literal('max'), Type.Literal('count')])),
    alias: Type.Optional(Type.String({ maxLength: 200 })),
    match: Type.Optional(Type.Array(Type.String({ maxLength: 600 }), { maxItems: 20 })),
  },
  open,
);

export type TargetPayload = Static<typeof TargetPayloadSchema>;

export const TargetSchema = Type.Object(
  {
    target: Type.Optional(Type.String({ maxLength: 200 })),
    refId: Type.Optional(Type.String({ maxLength: 50 })),
    type: Type.Optional(Type.Union([Type.Literal('timeserie'), Type.Literal('timeseries'), Type.Literal('table')])),
    hide: Type.Optional(Type.Boolean()),
    payload: Type.Optional(Type.Union([TargetPayloadSchema, Type.String({ maxLength: 2000 })])),
    data: Type.Optional(TargetPayloadSchema),
  },
  open,
);
export type Target = Static<typeof TargetSchema>;

export const QueryBodySchema = Type.Object(
  {
    range: RangeSchema,
    intervalMs: Type.Optional(Type.Number({ minimum: 1 })),
    maxDataPoints: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    targets: Type.Array(TargetSchema, { maxItems: 50 }),
    adhocFilters: Type.Optional(Type.Array(AdhocFilterSchema, { maxItems: 50 })),
    filters: Type.Optional(Type.Array(AdhocFilterSchema, { maxItems: 50 })),
  },
  open,
);
export type QueryBody = Static<typeof QueryBodySchema>;

export const TimeserieSchema = Type.Object({
  target: Type.String(),
  refId: Type.Optional(Type.String()),
  /** [value, time in ms]; the value is null where it is not finite (see non_finite). A type list, not anyOf: fast-json-stringify fails on anyOf inside a tuple. */
  datapoints: Type.Array(Type.Tuple([Type.Unsafe<number | null>({ type: ['number', 'null'] }), Type.Number()])),
  non_finite: Type.Optional(Type.Array(Type.Tuple([Type.Unsafe<NonFinite>({ type: 'string', enum: NON_FINITE }), Type.Number()]), { description: 'datapoints whose value is not finite (a sum past the double range), as ["+Inf" | "-Inf" | "NaN", time]' })),
});
export const TableSchema = Type.Object({
  type: Type.Literal('table'),
  refId: Type.Optional(Type.String()),
  columns: Type.Array(Type.Object({ text: Type.String(), type: Type.String() })),
  rows: Type.Array(Type.Array(Type.Union([Type.String(), Type.Number()]))),
});
export const QueryResponseSchema = Type.Array(Type.Union([TimeserieSchema, TableSchema]));

export const SearchBodySchema = Type.Object(
  {
    target: Type.Optional(Type.String({ maxLength: 200 })),
    metric: Type.Optional(Type.String({ maxLength: 200 })),
    payload: Type.Optional(Type.Object({}, open)),
  },
  open,
);

export const AnnotationsBodySchema = Type.Object(
  {
    range: RangeSchema,
    annotation: Type.Object({ name: Type.Optional(Type.String()), query: Type.Optional(Type.String({ maxLength: 200 })) }, open),
  },
  open,
);

export const AnnotationSchema = Type.Object({
  annotation: Type.Unknown(),
  time: Type.Number(),
  timeEnd: Type.Optional(Type.Number()),
  title: Type.String(),
  tags: Type.Array(Type.String()),
  text: Type.String(),
});

export const TagValuesBodySchema = Type.Object({ key: Type.String({ minLength: 1, maxLength: 100 }) }, open);

export const VariableBodySchema = Type.Object(
  {
    payload: Type.Optional(Type.Union([Type.Object({ target: Type.Optional(Type.String({ maxLength: 300 })) }, open), Type.String({ maxLength: 300 })])),
    target: Type.Optional(Type.String({ maxLength: 300 })),
    range: Type.Optional(RangeSchema),
  },
  open,
);

export const PayloadOptionsBodySchema = Type.Object(
  { metric: Type.String({ maxLength: 200 }), payload: Type.Optional(Type.Object({}, open)), name: Type.String({ maxLength: 100 }) },
  open,
);
