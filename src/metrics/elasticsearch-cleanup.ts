import { DependencyUnavailableError } from '../errors.js';

export interface ElasticsearchCleanupOptions {
  url: string;
  /** Index pattern as Elasticsearch understands it, e.g. `logs-*`. */
  pattern: string;
  retentionDays: number;
  timeoutMs: number;
}

interface CatIndex {
  index?: unknown;
  'creation.date'?: unknown;
}

async function call(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new DependencyUnavailableError('elasticsearch', error);
  }
}

/**
 * Deletes log indices matching the pattern created before the retention cutoff, through the
 * index API (`GET /_cat/indices/<pattern>?format=json&h=index,creation.date`, `DELETE /<index>`).
 * Hidden and system indices (leading dot) are never touched. Returns the deleted names.
 */
export async function cleanupElasticsearchIndices(options: ElasticsearchCleanupOptions, now: Date): Promise<string[]> {
  const base = options.url.replace(/\/+$/, '');
  const listing = await call(`${base}/_cat/indices/${encodeURIComponent(options.pattern)}?format=json&h=index,creation.date&expand_wildcards=open,closed`, { headers: { accept: 'application/json' } }, options.timeoutMs);
  if (listing.status === 404) return [];
  if (!listing.ok) throw new DependencyUnavailableError('elasticsearch', new Error(`listing indices answered ${listing.status}`));
  const body: unknown = await listing.json();
  if (!Array.isArray(body)) throw new DependencyUnavailableError('elasticsearch', new Error('unexpected _cat/indices answer'));
  const cutoff = now.getTime() - options.retentionDays * 86_400_000;
  const old = (body as CatIndex[]).flatMap((entry) => {
    const name = typeof entry.index === 'string' ? entry.index : undefined;
    const created = Number(entry['creation.date']);
    return name !== undefined && !name.startsWith('.') && Number.isFinite(created) && created < cutoff ? [name] : [];
  });
  const deleted: string[] = [];
  for (const name of old) {
    const response = await call(`${base}/${encodeURIComponent(name)}`, { method: 'DELETE' }, options.timeoutMs);
    if (response.ok || response.status === 404) deleted.push(name);
    else throw new DependencyUnavailableError('elasticsearch', new Error(`deleting ${name} answered ${response.status}`));
  }
  return deleted;
}
