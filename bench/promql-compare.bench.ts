import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { startPrometheus } from '../test/support/peer-process.js';
import { compareCorpus, writeBodies, type ApiAnswer } from '../test/metrics/promql/compare.js';
import { fullCorpus, STEP_MS } from '../test/metrics/promql/corpus.js';
import { startApp, targets, tokenFor } from './metrics-support.js';
import { writeSection } from './results.js';

/**
 * Issue 17, point 7: the whole PromQL corpus (test/metrics/promql/corpus.ts) through the service's
 * Prometheus HTTP API and through Debian's Prometheus, on the same remote-written data, at four
 * instant times and as range queries at two steps. The test runs a reduced corpus; this runs all.
 */
const queries = fullCorpus();
const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;
const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const prometheus = await startPrometheus();
const rows: string[] = [];
const examples: string[] = [];
try {
  for (const body of writeBodies(end)) {
    const response = await fetch(`${prometheus.url}/api/v1/write`, { method: 'POST', headers, body });
    if (response.status !== 204) throw new Error(`Prometheus refused the data: ${response.status} ${await response.text()}`);
  }
  const theirs = async (path: string, params: Record<string, string>) => (await (await fetch(`${prometheus.url}${path}?${new URLSearchParams(params).toString()}`)).json()) as ApiAnswer;
  for (const target of targets()) {
    // One query after another, over 4,000 requests: the request-rate limits are lifted (what is compared is the answers).
    const { app } = await startApp({ ...target.env, LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000' });
    try {
      const authorization = await tokenFor(randomUUID(), ['admin']);
      for (const body of writeBodies(end)) {
        const response = await app.inject({ method: 'POST', url: '/api/v1/write', headers: { ...headers, authorization }, payload: body });
        if (response.statusCode !== 204) throw new Error(`the service refused the data: ${response.statusCode} ${response.body}`);
      }
      const ours = async (path: string, params: Record<string, string>) => (await app.inject({ method: 'GET', url: `${path}?${new URLSearchParams(params).toString()}`, headers: { authorization } })).json<ApiAnswer>();
      const started = performance.now();
      const { compared, mismatches } = await compareCorpus(queries, end, ours, theirs);
      const seconds = (performance.now() - started) / 1000;
      rows.push(`| ${target.label} | ${queries.length} | ${compared} | ${compared - mismatches.length} | ${((100 * (compared - mismatches.length)) / compared).toFixed(1)} % | ${seconds.toFixed(1)} |`);
      examples.push(...mismatches.slice(0, 10).map((mismatch) => `- ${target.label}: ${mismatch}`));
      process.stdout.write(`${target.label}: ${compared - mismatches.length} of ${compared} match\n`);
    } finally {
      await app.close();
    }
  }
} finally {
  await prometheus.stop();
}

const body = `${queries.length} queries (hand-written ones across the language, then every range function over 4 selectors and 3 ranges, 8 aggregations with 5 groupings over 2 inputs, 14 operators between 4 pairs of operands), each asked at 4 instant times and as range queries at 2 steps (60 s and 37 s over 50 minutes), of the service and of Prometheus 2.42 (Debian's package) holding the same remote-written hour of 10 series at 15 s. An answer matches when it has the same series and values within 1e-9 relative, or the same error type. Time = both systems answering the whole corpus, one query after the other. Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| database | queries | answers compared | matching | match rate | time s |
|---|---|---|---|---|---|
${rows.join('\n')}
${examples.length === 0 ? '\nEvery answer matches.' : `\nMismatches (first 10 per database):\n${examples.join('\n')}`}`;
writeSection('PromQL beside Prometheus: the whole corpus (issue 17)', body);
process.stdout.write(`${body}\n`);
