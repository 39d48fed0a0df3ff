import { Cron } from 'croner';
import { ValidationError } from '../errors.js';

/** `daily` and `weekly` are names for fixed UTC cron expressions. */
const NAMED: Record<string, string> = { daily: '0 0 * * *', weekly: '0 0 * * 1' };

function cronOf(schedule: string): string {
  return NAMED[schedule] ?? schedule;
}

/** Refuses a schedule croner cannot read, or one that fires more often than every 5 minutes. */
export function validateSchedule(schedule: string | null): void {
  if (schedule === null) return;
  const expression = cronOf(schedule);
  if (expression.trim().split(/\s+/).length !== 5) throw new ValidationError('schedule must be daily, weekly or a 5-field cron expression (UTC)', { field: 'schedule', schedule });
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone: 'UTC', paused: true });
  } catch (error) {
    throw new ValidationError(`schedule is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`, { field: 'schedule', schedule });
  }
  const [first, second] = cron.nextRuns(2, new Date(0));
  if (first === undefined || second === undefined) throw new ValidationError('schedule never fires', { field: 'schedule', schedule });
  if (second.getTime() - first.getTime() < 5 * 60_000) throw new ValidationError('schedule fires more often than every 5 minutes', { field: 'schedule', schedule });
}

/** The first run strictly after `after`, or null for on-demand reports. */
export function nextRunAfter(schedule: string | null, after: Date): Date | null {
  if (schedule === null) return null;
  return new Cron(cronOf(schedule), { timezone: 'UTC', paused: true }).nextRun(after);
}
