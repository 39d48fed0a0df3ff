import { hostname } from 'node:os';
import type { SampleInput } from '../../metrics/index.js';
import { createCpuReader } from './cpu.collector.js';
import { readDiskUsage } from './disk.collector.js';
import { readMemory } from './memory.collector.js';

export interface SystemCollectorOptions {
  service: string;
  /** Paths whose file system usage is reported (the data directory and the root). */
  diskPaths: readonly string[];
  now: () => Date;
  instance?: string;
}

/** One reading of CPU, memory and disk as samples; series names match the default alert rules. */
export function createSystemCollector(options: SystemCollectorOptions): () => Promise<SampleInput[]> {
  const cpu = createCpuReader();
  const instance = options.instance ?? hostname();
  return async () => {
    const timestamp = options.now().toISOString();
    const sample = (name: string, value: number, labels: Record<string, string> = {}): SampleInput => ({ name, service: options.service, value, labels: { instance, ...labels }, timestamp });
    const samples: SampleInput[] = [];
    const cpuPercent = cpu();
    if (cpuPercent !== undefined) samples.push(sample('system_cpu_usage_percent', cpuPercent));
    const memory = readMemory();
    samples.push(
      sample('system_memory_usage_percent', memory.usagePercent),
      sample('system_memory_heap_used_bytes', memory.heapUsedBytes),
      sample('system_memory_heap_total_bytes', memory.heapTotalBytes),
      sample('system_memory_external_bytes', memory.externalBytes),
      sample('system_memory_rss_bytes', memory.rssBytes),
    );
    const seen = new Set<string>();
    for (const path of options.diskPaths) {
      const disk = await readDiskUsage(path);
      if (disk === undefined || seen.has(disk.path)) continue;
      seen.add(disk.path);
      samples.push(sample('system_disk_usage_percent', disk.usagePercent, { path: disk.path }));
    }
    return samples;
  };
}
