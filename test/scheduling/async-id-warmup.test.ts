import { AsyncResource } from 'node:async_hooks';
import { ASYNC_ID_WARMUP, warmAsyncIds } from '../../src/scheduling/async-id-warmup';

describe('async id warm-up', () => {
  it('makes as many async ids as asked, one after another', () => {
    const before = new AsyncResource('probe').asyncId();
    const last = warmAsyncIds(500);
    expect(last - before).toBe(500);
    expect(new AsyncResource('probe').asyncId()).toBe(last + 1);
  });

  it('makes the measured number by default', () => {
    const before = new AsyncResource('probe').asyncId();
    expect(warmAsyncIds() - before).toBe(ASYNC_ID_WARMUP);
    expect(ASYNC_ID_WARMUP).toBeGreaterThanOrEqual(20_000);
  });
});
