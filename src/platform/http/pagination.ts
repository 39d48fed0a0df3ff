import { Type, type TSchema } from '@sinclair/typebox';

/**
 * The one shape of a list answer: `{"data": [...]}`, and for a list paged by `limit` and `offset`
 * also `pagination`, so a caller can tell whether more pages follow. (Lists paged by a cursor say
 * `next_cursor` instead; Grafana's and Prometheus' protocols keep their own shapes.)
 */
export const PaginationSchema = Type.Object({
  limit: Type.Integer(),
  offset: Type.Integer(),
  total: Type.Integer({ description: 'items matching the filters, over all pages' }),
});

/** The query of a list paged by offset (defaults: the first 100). */
export const OffsetPageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
};

/** `{data: [item...], pagination}`: the answer of a list paged by offset. */
export const OffsetPageSchema = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item), pagination: PaginationSchema });
