import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { ConfigError, envName, flagName, SETTINGS } from '../../src/config/settings';

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'zone-registry-config-'));
  const file = join(dir, 'zones.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('loadConfig', () => {
  describe('sources', () => {
    it('uses the embedded defaults when nothing is given', () => {
      const { settings } = loadConfig([], {});
      expect(settings.port).toBe(8761);
      expect(settings.leaseDurationSecs).toBe(90);
      expect(settings.evictionIntervalMs).toBe(5000);
      expect(settings.deltaRetentionMs).toBe(180000);
    });

    it('lets the file override defaults, the environment override the file, and flags override both', () => {
      const file = configFile({ settings: { evictionIntervalMs: 1000, deltaRetentionMs: 60000, maxBodyBytes: 2048 } });
      const { settings } = loadConfig(['--config', file, '--delta-retention-ms=30000'], { EUREKA_DELTA_RETENTION_MS: '45000', EUREKA_MAX_BODY_BYTES: '4096' });
      expect(settings.evictionIntervalMs).toBe(1000);
      expect(settings.maxBodyBytes).toBe(4096);
      expect(settings.deltaRetentionMs).toBe(30000);
    });

    it('honours PORT, with EUREKA_PORT and --port taking precedence', () => {
      expect(loadConfig([], { PORT: '9000' }).settings.port).toBe(9000);
      expect(loadConfig([], { PORT: '9000', EUREKA_PORT: '9001' }).settings.port).toBe(9001);
      expect(loadConfig(['--port', '9002'], { PORT: '9000' }).settings.port).toBe(9002);
    });

    it('reads the region and zones of the zones file', () => {
      const file = configFile({ region: 'eu-west-1', zones: { a: ['http://127.0.0.1:8761/eureka'] }, settings: { zone: 'a' } });
      const config = loadConfig(['--config', file], {});
      expect(config.settings.region).toBe('eu-west-1');
      expect(config.topology.zones.get('a')).toEqual(['http://127.0.0.1:8761/eureka/']);
    });

    it.each([
      ['us-east-1a', '8761'],
      ['us-east-1b', '8762'],
      ['us-east-1c', '8763'],
    ])('finds zone %s of zones.example.json at port %s and peers with the other two', (zone, port) => {
      const config = loadConfig(['--config', join(__dirname, '../../zones.example.json'), '--zone', zone, '--port', port], {});
      expect(config.peerSet.self).toBe(`http://127.0.0.1:${port}/eureka/`);
      expect(config.peerSet.peers).toHaveLength(2);
      expect(config.peerSet.peers).not.toContain(config.peerSet.self);
    });

    it('is standalone, with no peers, without a config file', () => {
      expect(loadConfig([], {}).peerSet).toEqual({ self: undefined, peers: [] });
    });

    it('reads the zone from zoneFile, trimmed, in place of the zone setting', () => {
      const file = configFile('us-east-1b\n');
      expect(loadConfig(['--zone', 'us-east-1a'], { EUREKA_ZONE_FILE: file }).settings.zone).toBe('us-east-1b');
    });
  });

  describe('validation', () => {
    it.each([
      [['--eviction-interval-ms', 'soon'], {}, /evictionIntervalMs \(flag --eviction-interval-ms\)/],
      [[], { EUREKA_LEASE_DURATION_SECS: '0' }, /leaseDurationSecs \(environment EUREKA_LEASE_DURATION_SECS\)/],
      [[], { PORT: '70000' }, /port \(environment PORT\)/],
      [['--log-level', 'loud'], {}, /logLevel .*one of error, warn, info, debug/],
      [['--eviction-max-fraction', '1.5'], {}, /evictionMaxFraction/],
      [['--no-such-thing', '1'], {}, /Unknown flag --no-such-thing/],
      [['--port'], {}, /--port needs a value/],
    ])('stops with a message naming the setting for %j %j', (argv, env, message) => {
      expect(() => loadConfig(argv as string[], env)).toThrow(ConfigError);
      expect(() => loadConfig(argv as string[], env)).toThrow(message);
    });

    it('refuses a renewal-interval floor above its ceiling', () => {
      expect(() => loadConfig(['--min-renewal-interval-secs', '60', '--max-renewal-interval-secs', '30'], {})).toThrow(/minRenewalIntervalSecs: 60 is above maxRenewalIntervalSecs \(30\)/);
    });

    it('names the setting when the file has a bad or unknown one', () => {
      expect(() => loadConfig(['--config', configFile({ settings: { maxNameLength: 'long' } })], {})).toThrow(/maxNameLength \(config file/);
      expect(() => loadConfig(['--config', configFile({ settings: { leaseSeconds: 5 } })], {})).toThrow(/Unknown setting "leaseSeconds"/);
    });

    it('stops when the server cannot find itself, or selfUrl is not listed', () => {
      const file = configFile({ zones: { a: ['http://127.0.0.1:8761/eureka/'], b: ['http://127.0.0.1:8762/eureka/'] } });
      expect(() => loadConfig(['--config', file, '--zone', 'a', '--port', '9999'], {})).toThrow(/cannot find itself among zone "a"'s servers .*Set selfUrl/);
      expect(() => loadConfig(['--config', file, '--zone', 'a', '--self-url', 'http://127.0.0.1:1/eureka/'], {})).toThrow(/selfUrl: .* is not one of the servers/);
      const remote = configFile({ zones: { a: ['http://zone-a.invalid:8761/eureka/'], b: ['http://zone-b.invalid:8761/eureka/'] } });
      expect(loadConfig(['--config', remote, '--zone', 'b', '--self-url', 'http://zone-b.invalid:8761/eureka'], {}).peerSet).toEqual({
        self: 'http://zone-b.invalid:8761/eureka/',
        peers: ['http://zone-a.invalid:8761/eureka/'],
      });
    });

    it('refuses a zone the file does not list, and malformed zones', () => {
      const zones = { a: ['http://127.0.0.1:8761/eureka/'] };
      expect(() => loadConfig(['--config', configFile({ zones }), '--zone', 'b'], {})).toThrow(/zone: "b" is not one of the zones/);
      expect(() => loadConfig(['--config', configFile({ zones: { a: ['ftp://x'] } })], {})).toThrow(/invalid server URL/);
      expect(() => loadConfig(['--config', configFile({ zones: { a: ['http://h/eureka/'], b: ['http://h/eureka'] } })], {})).toThrow(/listed twice/);
      expect(() => loadConfig(['--config', configFile('{not json')], {})).toThrow(/Cannot read config file/);
    });

    it('stops when zoneFile cannot be read or does not hold one zone name', () => {
      expect(() => loadConfig(['--zone-file', join(tmpdir(), 'zone-registry-no-such-zone-file')], {})).toThrow(/Cannot read zoneFile/);
      expect(() => loadConfig(['--zone-file', configFile('  \n')], {})).toThrow(/Invalid zoneFile .*expected one zone name/);
      expect(() => loadConfig(['--zone-file', configFile('us-east-1a us-east-1b')], {})).toThrow(/Invalid zoneFile/);
    });
  });
});

describe('settings', () => {
  it('derives flag and environment names from the setting name', () => {
    expect(flagName('evictionIntervalMs')).toBe('eviction-interval-ms');
    expect(envName('evictionIntervalMs')).toBe('EUREKA_EVICTION_INTERVAL_MS');
  });

  it('has every default within its own bounds', () => {
    for (const [name, spec] of Object.entries(SETTINGS)) {
      expect(() => loadConfig([`--${flagName(name)}`, String(spec.default)], {})).not.toThrow();
    }
  });
});
