import { cronExpressionFor, CronScheduler } from '../../src/scheduling/scheduler';
import { silentLogger } from '../../src/observability/logger';
import { waitFor } from '../helpers/wait';

describe('cronExpressionFor', () => {
  it('expresses whole seconds and minutes that divide the next unit', () => {
    expect(cronExpressionFor(5000)).toBe('*/5 * * * * *');
    expect(cronExpressionFor(30000)).toBe('*/30 * * * * *');
    expect(cronExpressionFor(60000)).toBe('0 */1 * * * *');
    expect(cronExpressionFor(900000)).toBe('0 */15 * * * *');
  });

  it('leaves sub-second and odd periods to a plain interval', () => {
    expect(cronExpressionFor(250)).toBeUndefined();
    expect(cronExpressionFor(7000)).toBeUndefined();
    expect(cronExpressionFor(7 * 60000)).toBeUndefined();
  });
});

describe('CronScheduler', () => {
  it('runs an interval task until stopped and survives a failing run', async () => {
    const scheduler = new CronScheduler(silentLogger);
    let runs = 0;
    scheduler.every('test', 20, () => {
      runs++;
      if (runs === 1) throw new Error('first run fails');
    });
    await waitFor(() => runs >= 2, 'a run after the failing one');
    scheduler.stop();
    const seen = runs;
    // Three periods with no run: stopped.
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(seen);
  });

  it('logs a task whose promise rejects, and runs it again', async () => {
    const errors: unknown[] = [];
    const scheduler = new CronScheduler({ ...silentLogger, error: (message: string, fields?: unknown) => void errors.push({ message, fields }) });
    let runs = 0;
    scheduler.every('async', 20, async () => {
      runs++;
      if (runs === 1) throw new Error('first pass fails');
    });
    await waitFor(() => runs >= 2, 'a run after the rejected one');
    scheduler.stop();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: 'scheduled task failed', fields: { task: 'async' } });
  });
});
