// The logger hands a line to winston at or above its level, and drops the rest before winston formats them.
import winston from 'winston';
import { createLogger } from '../../src/observability/logger';

describe('createLogger', () => {
  it('passes warnings to winston but not info or debug lines at level warn', () => {
    const real = winston.createLogger({ level: 'warn', transports: [new winston.transports.Console({ silent: true })] });
    const calls: string[] = [];
    const fake = {
      isLevelEnabled: (level: string) => real.isLevelEnabled(level),
      error: (m: string) => void calls.push(`error ${m}`),
      warn: (m: string) => void calls.push(`warn ${m}`),
      info: (m: string) => void calls.push(`info ${m}`),
      debug: (m: string) => void calls.push(`debug ${m}`),
    };
    const spy = jest.spyOn(winston, 'createLogger').mockReturnValue(fake as unknown as winston.Logger);
    try {
      const logger = createLogger({ level: 'warn', format: 'text' });
      logger.info('registered', { app: 'ORDERS' });
      logger.debug('request');
      logger.warn('peer is throttling replication');
      logger.error('request failed');
      expect(calls).toEqual(['warn peer is throttling replication', 'error request failed']);
      expect(logger.debugEnabled).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});
