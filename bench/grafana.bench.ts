import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { percentile, writeSection } from './results.js';
import { BENCH_DATABASE_URL, fmt, startApp, targets, tokenFor, type BenchTarget } from './metrics-support.js';

/**
 * Grafana `/query` of one series over 24 h at 1-minute resolution on a metrics table of 5,000,000
 * rows (50 series x 100,000 samples over 48 h, 2 tenants), p50 and p95, against the same SQL run
 * straight through the database port (no HTTP, auth, validation or JSON). Goal: ratio <= 1.5.
 * The rows are generated once with one INSERT ... SELECT generate_series per tenant (as system
 * work, through RLS) and kept between runs.
 */
const TENANTS = ['b0000000-0000-4000-8000-00000000000a', 'b0000000-0000-4000-8000-00000000000b'];
const SERIES = 50;
const PER_SERIES = 100_000;
const SPACING_S = 1.728; // 100,000 samples span 48 h
const PGLITE_DIR = '/tmp/monitoring-bench-grafana-pglite';
const RUNS = 40;

const RAW_SQL = `SELECT series_key, service_name, floor(extract(epoch FROM "timestamp") * 1000 / $5) * $5 AS bucket, avg(value) AS value
  FROM metrics WHERE tenant_id = $1 AND metric_name = $2 AND "timestamp" >= $3 AND "timestamp" < $4
  GROUP BY series_key, service_name, bucket ORDER BY series_key, bucket`;

async function analyze(target: BenchTarget): Promise<void> {
  // ANALYZE needs the table owner; the application role is not, so it runs outside the app.
  if (target.label === 'PostgreSQL') {
    const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
    await client.connect();
    await client.query('ANALYZE metrics');
    await client.end();
  } else {
    const db = await PGlite.create(`${PGLITE_DIR}/pglite`);
    await db.exec('ANALYZE metrics');
    await db.close();
  }
}

async function ensureRows(target: BenchTarget): Promise<{ generatedMs: number | null }> {
  const { app, container } = await startApp(target.env);
  try {
    const existing = await container.db.asSystem((tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE tenant_id = ANY($1::uuid[])', [TENANTS]));
    if (existing.rows[0]?.n === SERIES * PER_SERIES) return { generatedMs: null };
    const started = performance.now();
    const end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const day = (offset: number) => new Date(end.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
    await container.db.asSystem(async (tx) => {
      await tx.query('DELETE FROM metrics WHERE tenant_id = ANY($1::uuid[])', [TENANTS]);
      await tx.query('SELECT ensure_metrics_partitions($1::date, $2::date)', [day(-3), day(0)]);
    });
    for (const [index, tenant] of TENANTS.entries()) {
      await container.db.asSystem((tx) =>
        tx.query(
          `INSERT INTO metrics (tenant_id, metric_name, service_name, series_key, value, labels, "timestamp")
           SELECT $1::uuid, 'bench_series_' || s, 'bench', 'bench_series_' || s || '|bench|{}', ((i * 7 + s) % 1000)::float8, '{}'::jsonb,
                  $2::timestamptz - make_interval(secs => i * $3::float8)
           FROM generate_series($4::int, $5::int) AS s, generate_series(0, $6::int - 1) AS i`,
          [tenant, end.toISOString(), SPACING_S, index * (SERIES / 2), (index + 1) * (SERIES / 2) - 1, PER_SERIES],
        ),
      );
    }
    return { generatedMs: performance.now() - started };
  } finally {
    await app.close();
  }
}

async function measure(target: BenchTarget) {
  const generation = await ensureRows(target);
  await analyze(target);
  const { app, container } = await startApp(target.env);
  try {
    const tenant = TENANTS[0] ?? '';
    const anchor = await container.db.withTenant(tenant, (tx) => tx.query<{ at: Date }>(`SELECT max("timestamp") AS at FROM metrics WHERE tenant_id = $1 AND metric_name = 'bench_series_0'`, [tenant]));
    const to = anchor.rows[0]?.at ?? new Date();
    const from = new Date(to.getTime() - 86_400_000);
    const authorization = await tokenFor(tenant, ['viewer']);
    const body = JSON.stringify({ range: { from: from.toISOString(), to: to.toISOString() }, intervalMs: 60_000, maxDataPoints: 1440, targets: [{ target: 'bench_series_0', refId: 'A', type: 'timeserie' }] });
    const viaGrafana = async () => {
      const response = await app.inject({ method: 'POST', url: '/grafana/query', headers: { authorization, 'content-type': 'application/json' }, payload: body });
      if (response.statusCode !== 200) throw new Error(`/grafana/query answered ${response.statusCode}: ${response.body}`);
      return response.json<Array<{ datapoints: unknown[] }>>()[0]?.datapoints.length ?? 0;
    };
    const viaSql = async () => {
      const result = await container.db.withTenant(tenant, (tx) => tx.query(RAW_SQL, [tenant, 'bench_series_0', from.toISOString(), to.toISOString(), 60_000]));
      return result.rowCount;
    };
    const points = await viaGrafana();
    const rows = await viaSql();
    if (points !== rows) throw new Error(`Grafana returned ${points} points, SQL ${rows} rows`);
    for (let warm = 0; warm < 3; warm += 1) {
      await viaGrafana();
      await viaSql();
    }
    const grafana: number[] = [];
    const sql: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      let started = performance.now();
      await viaGrafana();
      grafana.push(performance.now() - started);
      started = performance.now();
      await viaSql();
      sql.push(performance.now() - started);
    }
    grafana.sort((a, b) => a - b);
    sql.sort((a, b) => a - b);
    const total = await container.db.asSystem((tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics'));
    return { generation, points, grafana, sql, tableRows: total.rows[0]?.n ?? 0 };
  } finally {
    await app.close();
  }
}

const lines = [
  `One series (\`bench_series_0\`) over 24 h at 1-minute buckets (${'1,440'} points, about 50,000 raw samples) from a metrics table holding ${(SERIES * PER_SERIES).toLocaleString('en-US')} rows of the bench (${SERIES} series, 2 tenants) plus whatever the tests left. Grafana = \`POST /grafana/query\` in process (auth, schema, SQL, JSON); baseline = the same SQL through the database port. ${RUNS} runs each, interleaved. Goal: ratio <= 1.5.`,
  '',
  '| database | table rows | points | Grafana p50 ms | p95 ms | SQL p50 ms | p95 ms | ratio p50 | ratio p95 | rows generated in |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const target of targets(PGLITE_DIR)) {
  const result = await measure(target);
  const [g50, g95, s50, s95] = [percentile(result.grafana, 50), percentile(result.grafana, 95), percentile(result.sql, 50), percentile(result.sql, 95)];
  const generated = result.generation.generatedMs === null ? 'kept from a previous run' : `${fmt(result.generation.generatedMs / 1000, 0)} s`;
  lines.push(`| ${target.label} | ${result.tableRows.toLocaleString('en-US')} | ${result.points} | ${fmt(g50)} | ${fmt(g95)} | ${fmt(s50)} | ${fmt(s95)} | ${fmt(g50 / s50, 2)} | ${fmt(g95 / s95, 2)} | ${generated} |`);
  process.stdout.write(`${lines[lines.length - 1] ?? ''}\n`);
}
writeSection('Grafana: /query on 5 million rows', lines.join('\n'));
