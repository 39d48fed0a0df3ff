import { cpus } from 'node:os';

interface CpuTimes {
  idle: number;
  total: number;
}

function snapshot(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  return { idle, total };
}

/**
 * Host CPU usage in percent over the time since the previous reading (the first reading covers
 * the time since the collector was created). Undefined when no CPU time has passed.
 */
export function createCpuReader(read: () => CpuTimes = snapshot): () => number | undefined {
  let previous = read();
  return () => {
    const current = read();
    const total = current.total - previous.total;
    const idle = current.idle - previous.idle;
    previous = current;
    if (total <= 0) return undefined;
    return Math.min(100, Math.max(0, (100 * (total - idle)) / total));
  };
}
