// Content negotiation as Eureka decides it (contract §2.1, §2.2).
import { acceptsGzip, contentTypeFor, formatFor } from '../../src/codecs/negotiate';

describe('formatFor: JSON iff Accept contains "json"', () => {
  test.each([
    [undefined, 'xml'],
    ['', 'xml'],
    ['*/*', 'xml'],
    ['application/xml', 'xml'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'xml'],
    ['application/json', 'json'],
    ['application/json;charset=UTF-8', 'json'],
    ['application/xml, application/json', 'json'],
    ['application/vnd.foo+json', 'json'],
  ] as const)('%p → %s', (accept, format) => {
    expect(formatFor(accept)).toBe(format);
  });
});

describe('acceptsGzip', () => {
  test.each([
    ['gzip', true],
    ['gzip, deflate', true],
    ['deflate, gzip', true],
    ['GZIP', true],
    ['gzip;q=0.5', true],
    ['gzip; q=1.0', true],
    ['*', true],
    ['gzip;q=0', false],
    ['gzip;q=0.000', false],
    ['identity', false],
    ['deflate, br', false],
    ['', false],
    [undefined, false],
    ['*;q=0', false],
    // An explicitly listed coding takes precedence over the "*" wildcard, whichever comes first (RFC 9110 §12.5.3).
    ['gzip;q=0, *', false],
    ['*;q=0, gzip', true],
  ] as const)('%p → %p', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

test('contentTypeFor', () => {
  expect(contentTypeFor('json')).toBe('application/json');
  expect(contentTypeFor('xml')).toBe('application/xml');
});
