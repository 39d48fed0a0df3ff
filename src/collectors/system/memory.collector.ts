import { freemem, totalmem } from 'node:os';

export interface MemoryReading {
  usagePercent: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  rssBytes: number;
}

/** Host memory in use (total minus available) and this process's heap and external memory. */
export function readMemory(): MemoryReading {
  const total = totalmem();
  const process = globalThis.process.memoryUsage();
  return {
    usagePercent: total > 0 ? (100 * (total - freemem())) / total : 0,
    heapUsedBytes: process.heapUsed,
    heapTotalBytes: process.heapTotal,
    externalBytes: process.external,
    rssBytes: process.rss,
  };
}
