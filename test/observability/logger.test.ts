// The logger writes a line at or above its level, and drops the rest before any formatting.
import { createLogger } from '../../src/observability/logger';

describe('createLogger', () => {
  it('writes warnings but not info lines at level warn, and says debug is off', () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const logger = createLogger({ level: 'warn', format: 'text' });
      logger.info('registered', { app: 'ORDERS' });
      logger.debug('request');
      logger.warn('peer is throttling replication', { peer: 'http://b/eureka/' });
      expect(logger.debugEnabled).toBe(false);
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).toMatch(/WARN +peer is throttling replication peer=http:\/\/b\/eureka\//);
    expect(writes.join('')).not.toMatch(/registered|request/);
  });
});
