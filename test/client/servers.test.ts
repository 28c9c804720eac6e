// Server order and quarantine: own zone first, then the other zones in file order; failed servers are skipped for
// the quarantine period and come back afterwards; zones files are validated.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrl, resolveEndpoints, ServerPool, ServersConfigError } from '../../src/client/servers';
import { ManualClock } from '../../src/domain/clock';

const ZONES = {
  region: 'us-east-1',
  zones: { 'us-east-1a': ['http://a1:8761/eureka/', 'http://a2:8761/eureka'], 'us-east-1b': ['http://b1:8761/eureka/'], 'us-east-1c': ['http://c1:8761/eureka/'] },
  settings: { logLevel: 'info' },
};

describe('resolveEndpoints', () => {
  it('reads a zones file object, a zones file path, a URL list and one URL', () => {
    expect(resolveEndpoints(ZONES).map((e) => `${e.zone} ${e.url}`)).toEqual([
      'us-east-1a http://a1:8761/eureka/',
      'us-east-1a http://a2:8761/eureka/',
      'us-east-1b http://b1:8761/eureka/',
      'us-east-1c http://c1:8761/eureka/',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'client-zones-'));
    try {
      const file = join(dir, 'zones.json');
      writeFileSync(file, JSON.stringify(ZONES));
      expect(resolveEndpoints(file)).toEqual(resolveEndpoints(ZONES));
      expect(() => resolveEndpoints(join(dir, 'missing.json'))).toThrow(/Cannot read zones file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(resolveEndpoints(['http://x:1/eureka', 'http://y:2/eureka/'])).toEqual([{ url: 'http://x:1/eureka/' }, { url: 'http://y:2/eureka/' }]);
    expect(resolveEndpoints('http://x:1/eureka')).toEqual([{ url: 'http://x:1/eureka/' }]);
  });

  it('rejects malformed input with a message naming it', () => {
    expect(() => resolveEndpoints([])).toThrow(ServersConfigError);
    expect(() => resolveEndpoints(['ftp://x'])).toThrow(/servers\[0\]: invalid server URL "ftp:\/\/x"/);
    expect(() => resolveEndpoints({ zones: { a: [] } })).toThrow(/zone "a" must list at least one server URL/);
    expect(() => resolveEndpoints({ zones: { a: ['http://x/'], b: ['http://x'] } })).toThrow(/listed twice/);
    expect(() => resolveEndpoints({} as never)).toThrow(/"zones" must map/);
  });
});

describe('ServerPool', () => {
  it('orders the own zone first, then the other zones in file order', () => {
    const pool = new ServerPool(resolveEndpoints(ZONES), { zone: 'us-east-1b', clock: new ManualClock() });
    expect(pool.candidates(10).map((e) => e.url)).toEqual(['http://b1:8761/eureka/', 'http://a1:8761/eureka/', 'http://a2:8761/eureka/', 'http://c1:8761/eureka/']);
    expect(pool.candidates(3)).toHaveLength(3);
    expect(pool.zone).toBe('us-east-1b');
    // Default zone: the first one listed.
    expect(new ServerPool(resolveEndpoints(ZONES), { clock: new ManualClock() }).zone).toBe('us-east-1a');
    expect(() => new ServerPool(resolveEndpoints(ZONES), { zone: 'eu-west-1a', clock: new ManualClock() })).toThrow(/not one of the zones/);
  });

  it('skips a quarantined server until its quarantine ends, then prefers it again', () => {
    const clock = new ManualClock();
    const pool = new ServerPool(resolveEndpoints(ZONES), { zone: 'us-east-1b', quarantineMs: 1000, clock });
    pool.quarantine('http://b1:8761/eureka/');
    expect(pool.candidates(2).map((e) => e.url)).toEqual(['http://a1:8761/eureka/', 'http://a2:8761/eureka/']);
    clock.advance(999);
    expect(pool.candidates(1)[0].url).toBe('http://a1:8761/eureka/');
    clock.advance(1);
    expect(pool.candidates(1)[0].url).toBe('http://b1:8761/eureka/');
  });

  it('a server that answers leaves quarantine; with every server quarantined it tries the preferred order', () => {
    const clock = new ManualClock();
    const pool = new ServerPool(resolveEndpoints(['http://x/', 'http://y/']), { quarantineMs: 1000, clock });
    pool.quarantine('http://x/');
    pool.quarantine('http://y/');
    expect(pool.candidates(3).map((e) => e.url)).toEqual(['http://x/', 'http://y/']);
    pool.succeeded('http://y/');
    expect(pool.candidates(3).map((e) => e.url)).toEqual(['http://y/']);
  });
});

describe('redactUrl', () => {
  it('removes credentials from a server URL and leaves other URLs alone', () => {
    expect(redactUrl('http://user:secret@127.0.0.1:8761/eureka/')).toBe('http://127.0.0.1:8761/eureka/');
    expect(redactUrl('https://token@zone-a.invalid/eureka/')).toBe('https://zone-a.invalid/eureka/');
    expect(redactUrl('http://127.0.0.1:8761/eureka/?a=b@c')).toBe('http://127.0.0.1:8761/eureka/?a=b@c');
  });
});
