// The one zones-file reader the servers and the client library share.
import { isServerUrl, normaliseServerUrl, readZonesFile } from '../../src/codecs/zones-file';

describe('zones-file', () => {
  describe('readZonesFile', () => {
    it('returns the region, the zones with normalised URLs in file order, and the settings when the file is valid', () => {
      const reading = readZonesFile({ $comment: 'x', region: 'r', zones: { b: ['http://b1:8761/eureka'], a: ['https://a1/eureka/', 'http://a2:1'] }, settings: { port: 8761 } });
      expect(reading).toEqual({ contents: { region: 'r', zones: new Map([['b', ['http://b1:8761/eureka/']], ['a', ['https://a1/eureka/', 'http://a2:1/']]]), settings: { port: 8761 } } });
      if (!('contents' in reading)) throw new Error('unreachable');
      expect([...reading.contents.zones!.keys()]).toEqual(['b', 'a']);
    });

    it('leaves zones undefined and settings empty when the file has neither', () => {
      expect(readZonesFile({ region: 'r' })).toEqual({ contents: { region: 'r', zones: undefined, settings: {} } });
    });

    it.each([
      [[], 'expected a JSON object'],
      [null, 'expected a JSON object'],
      [{ zone: {} }, 'unknown key "zone" (expected region, zones, settings)'],
      [{ region: '' }, '"region" must be a non-empty string'],
      [{ region: 5 }, '"region" must be a non-empty string'],
      [{ zones: ['http://a/'] }, '"zones" must map zone names to lists of server URLs'],
      [{ zones: { a: [] } }, 'zone "a" must list at least one server URL'],
      [{ zones: { a: 'http://a/' } }, 'zone "a" must list at least one server URL'],
      [{ zones: { a: ['ftp://x'] } }, 'zone "a" has an invalid server URL "ftp://x"'],
      [{ zones: { a: ['http://h/eureka/'], b: ['http://h/eureka'] } }, 'server URL http://h/eureka/ is listed twice'],
      [{ settings: [] }, '"settings" must be an object'],
    ])('names what is wrong when the file is %j', (json, error) => {
      expect(readZonesFile(json)).toEqual({ error });
    });
  });

  describe('isServerUrl', () => {
    it('accepts http(s) URLs with a host and nothing else', () => {
      expect(['http://h', 'https://h:1/eureka/'].map(isServerUrl)).toEqual([true, true]);
      expect(['ftp://h', 'http:///x', 'h:8761', 7].map(isServerUrl)).toEqual([false, false, false, false]);
    });
  });

  describe('normaliseServerUrl', () => {
    it('ends the URL with one slash', () => {
      expect(normaliseServerUrl('http://h/eureka')).toBe('http://h/eureka/');
      expect(normaliseServerUrl('http://h/eureka/')).toBe('http://h/eureka/');
    });
  });
});
