// The watch's parameters: what parses, what earns a 400 and its message.
import { parseRevision, parseWaitMs } from '../../src/watch/watch-params';

describe('watch parameters', () => {
  describe('parseRevision', () => {
    it.each([
      ['0', 0],
      ['42', 42],
      ['9007199254740991', 9007199254740991],
    ])('reads %s', (raw, value) => {
      expect(parseRevision(raw, 'since')).toEqual({ value });
    });

    it.each(['', '-1', 'abc', '1.5', '1e3', ' 1', '99999999999999999'])('refuses %j with a message naming the parameter', (raw) => {
      const parsed = parseRevision(raw, 'since');
      expect('error' in parsed && parsed.error).toMatch(/^since must be a revision/);
    });
  });

  describe('parseWaitMs', () => {
    it.each([
      ['30', 30_000],
      ['30s', 30_000],
      ['500ms', 500],
      ['5m', 300_000],
      ['0', 0],
    ])('reads %s', (raw, value) => {
      expect(parseWaitMs(raw)).toEqual({ value });
    });

    it.each(['', 'soon', '5h', '-1s', '1.5s', '30 s', '9999999999s'])('refuses %j', (raw) => {
      const parsed = parseWaitMs(raw);
      expect('error' in parsed && parsed.error).toMatch(/^wait must be a duration/);
    });
  });
});
