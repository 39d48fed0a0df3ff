import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';

/**
 * An application instrumented with the official OpenTelemetry JS SDK, exporting to the service:
 * `tsx sdk-exporter.ts <base url> <api key> <protobuf|json> <cumulative|delta>`. It records, exports,
 * records more, exports again, and exits.
 */
const [base = '', key = '', encoding = 'protobuf', temporality = 'cumulative'] = process.argv.slice(2);
const options = { url: `${base}/v1/metrics`, headers: { Authorization: `Bearer ${key}` }, temporalityPreference: temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE };
const exporter = encoding === 'json' ? new JsonExporter(options) : new ProtobufExporter(options);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.instance.id': 'pod-1', 'deployment.environment': 'test' }), readers: [reader] });
const meter = provider.getMeter('orders-app', '1.0.0');

const orders = meter.createCounter('orders', { description: 'orders placed' });
const latency = meter.createHistogram('request.duration', { unit: 's' });
const sessions = meter.createUpDownCounter('sessions.active');
const queue = meter.createObservableGauge('queue.depth');
queue.addCallback((result) => result.observe(11, { queue: 'mail' }));

orders.add(3, { region: 'eu' });
orders.add(2, { region: 'eu' });
orders.add(7, { region: 'us' });
for (const seconds of [0.02, 0.2, 0.7, 3]) latency.record(seconds, { route: '/pay' });
sessions.add(5);
sessions.add(-2);
await reader.forceFlush();
await new Promise((resolve) => setTimeout(resolve, 50));
orders.add(4, { region: 'eu' });
latency.record(12, { route: '/pay' });
await reader.forceFlush();
await provider.shutdown();
