/** The metrics domain's public surface for other domains. */
export { CATALOGUE_ENTRIES, type Catalogue, type CatalogueEntry, type CatalogueKind } from './catalogue.js';
export type { CatalogueFeed, CatalogueSample } from './catalogue-feed.js';
export type { CommitListener, CommittedBatch, Ingest, IngestSource } from './ingest.js';
export { parseMatcher } from './label-matchers.js';
export { LABEL_NAME_PATTERN, METRIC_NAME_PATTERN, SampleSchema, seriesKeyOf, type Sample, type SampleInput } from './sample.js';
export { labelKeys, labelValues, latestPerSeries, listSamples, metricNames, serviceNames, type SampleFilter, type SampleRow } from './samples.repository.js';
export { AGGREGATIONS, querySeries, type Aggregation, type Series, type SeriesQuery, type SeriesResult } from './series.query.js';
export type { HttpObservation, HttpObserver } from './http-instrumentation.js';
export { queryShape, type QueryShape } from './query-timer.js';
export type { SampleScope, SampleSource } from './store/sample-source.js';
