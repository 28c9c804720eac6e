// What an instance's health check probes, and the guard that keeps a registration from making the server probe any
// host but the instance's own.
import { checkHealthUrl, decideTarget, describeTarget, HEALTH_METADATA, Thresholds } from '../../src/health/target';
import { makeInstance } from '../helpers/instances';

const DEFAULTS: Thresholds = { intervalMs: 10_000, timeoutMs: 2_000, failuresBeforeDown: 3, successesBeforeUp: 2 };
const HOST = 'orders-1.internal';
const IP = '10.0.0.7';

const refusedReason = (raw: string, hostName = HOST, ipAddr = IP): string | undefined => {
  const r = checkHealthUrl(raw, hostName, ipAddr);
  return 'refused' in r ? r.refused : undefined;
};

describe('target', () => {
  describe('checkHealthUrl', () => {
    it('accepts a URL on the instance ipAddr and connects to that address', () => {
      expect(checkHealthUrl('http://10.0.0.7:8081/actuator/health?probe=1', HOST, IP)).toEqual({
        kind: 'http',
        url: 'http://10.0.0.7:8081/actuator/health?probe=1',
        secure: false,
        connectHost: '10.0.0.7',
        port: 8081,
        path: '/actuator/health?probe=1',
        hostHeader: '10.0.0.7:8081',
      });
    });

    it('accepts a URL on the instance hostName, any case, and connects to its registered address (no DNS)', () => {
      expect(checkHealthUrl('HTTPS://Orders-1.Internal/health', HOST, IP)).toMatchObject({ secure: true, connectHost: IP, port: 443, hostHeader: HOST, servername: HOST, path: '/health' });
    });

    it('resolves the host name when the registered ipAddr is not an address', () => {
      expect(checkHealthUrl(`http://${HOST}/health`, HOST, 'not-an-ip')).toMatchObject({ connectHost: HOST, port: 80 });
    });

    it.each([
      ['another host', 'http://10.0.0.8:8081/health'],
      ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
      ['localhost', 'http://localhost:8081/health'],
      ['loopback', 'http://127.0.0.1:8081/health'],
      ['a sub-domain of the host name', `http://x.${HOST}/health`],
      ['the host name with a trailing dot', `http://${HOST}./health`],
      ['loopback in decimal form', 'http://2130706433/health'],
      ['an IPv6 loopback', 'http://[::1]:8081/health'],
      ['an IPv4-mapped IPv6 form of the address', 'http://[::ffff:10.0.0.7]:8081/health'],
    ])('refuses %s', (_what, raw) => {
      expect(refusedReason(raw)).toBe("health URL host is not the instance's hostName or ipAddr");
    });

    it('compares the host after parsing: another spelling of the instance address is that address', () => {
      expect(checkHealthUrl('http://167772167:8081/health', HOST, IP)).toMatchObject({ connectHost: IP, url: 'http://10.0.0.7:8081/health' });
    });

    it('accepts localhost or a metadata address only when that is the instance itself', () => {
      expect(checkHealthUrl('http://127.0.0.1:9/health', 'localhost', '127.0.0.1')).toMatchObject({ connectHost: '127.0.0.1', port: 9 });
      expect(checkHealthUrl('http://169.254.169.254/health', 'x', '169.254.169.254')).toMatchObject({ connectHost: '169.254.169.254' });
    });

    it('accepts an IPv6 URL that is the instance address, in any spelling', () => {
      expect(checkHealthUrl('http://[fd00:0:0:0:0:0:0:7]:8081/health', HOST, 'fd00::7')).toMatchObject({ connectHost: 'fd00::7', hostHeader: '[fd00::7]:8081' });
      expect(checkHealthUrl('http://[fd00::7]:8081/health', HOST, 'FD00:0:0:0:0:0:0:7')).toMatchObject({ connectHost: 'fd00::7' });
    });

    it.each([
      ['credentials', 'http://user:secret@10.0.0.7/health', 'health URL carries credentials'],
      ['a user name alone', 'http://user@10.0.0.7/health', 'health URL carries credentials'],
      ['port 0', 'http://10.0.0.7:0/health', 'health URL port 0 is not in 1–65535'],
      ['a port above 65535', 'http://10.0.0.7:65536/health', 'health URL is not a valid URL'],
      ['a negative port', 'http://10.0.0.7:-1/health', 'health URL is not a valid URL'],
      ['another scheme', 'ftp://10.0.0.7/health', 'health URL scheme ftp: is not http or https'],
      ['a file URL', 'file:///etc/passwd', 'health URL scheme file: is not http or https'],
      ['a relative URL', '/health', 'health URL is not a valid URL'],
      ['garbage', 'http://[zz', 'health URL is not a valid URL'],
      ['an IPv6 zone id', 'http://[fe80::1%25eth0]/health', 'health URL is not a valid URL'],
      ['an empty string', '', 'health URL is not a valid URL'],
      ['an over-long URL', `http://10.0.0.7/${'a'.repeat(3000)}`, 'health URL longer than 2048 characters'],
    ])('refuses %s, never throwing', (_what, raw, reason) => {
      expect(refusedReason(raw)).toBe(reason);
    });

    it('never throws on arbitrary text', () => {
      for (const raw of ['http://', 'http://:80', 'http:// 10.0.0.7/', 'h\u0000ttp://10.0.0.7/', 'http://10.0.0.7:80:80/', '\uD800', 'http://%zz/']) {
        expect(() => checkHealthUrl(raw, HOST, IP)).not.toThrow();
        expect(checkHealthUrl(raw, HOST, IP)).toHaveProperty('refused');
      }
    });
  });

  describe('decideTarget', () => {
    it('probes the health URL over HTTP by default', () => {
      const d = decideTarget(makeInstance({ healthCheckUrl: 'http://10.0.0.7:8081/health' }), DEFAULTS);
      expect(d).toMatchObject({ kind: 'probe', target: { kind: 'http', url: 'http://10.0.0.7:8081/health' }, thresholds: DEFAULTS });
    });

    it('uses the secure health URL when only that exists, and the plain one when both do', () => {
      expect(decideTarget(makeInstance({ secureHealthCheckUrl: 'https://10.0.0.7/health' }), DEFAULTS)).toMatchObject({ target: { secure: true } });
      expect(decideTarget(makeInstance({ healthCheckUrl: 'http://10.0.0.7/h', secureHealthCheckUrl: 'https://10.0.0.7/h' }), DEFAULTS)).toMatchObject({ target: { secure: false } });
    });

    it('leaves an instance without a health URL alone unless it asks for TCP', () => {
      expect(decideTarget(makeInstance(), DEFAULTS)).toEqual({ kind: 'off', reason: 'no health URL' });
      const tcp = decideTarget(makeInstance({ metadata: { [HEALTH_METADATA.mode]: 'TCP' } }), DEFAULTS);
      expect(tcp).toMatchObject({ kind: 'probe', target: { kind: 'tcp', host: '10.0.0.7', port: 8080 } });
      expect(tcp.kind === 'probe' && describeTarget(tcp.target)).toBe('tcp://10.0.0.7:8080');
    });

    it('connects over TCP to the secure port when the plain one is disabled, and refuses when none is enabled', () => {
      const metadata = { [HEALTH_METADATA.mode]: 'tcp' };
      expect(decideTarget(makeInstance({ metadata, port: { port: 80, enabled: false }, securePort: { port: 8443, enabled: true } }), DEFAULTS)).toMatchObject({ target: { port: 8443 } });
      expect(decideTarget(makeInstance({ metadata, port: { port: 80, enabled: false } }), DEFAULTS)).toEqual({ kind: 'refused', reason: 'no enabled port to connect to' });
      expect(decideTarget(makeInstance({ metadata, port: { port: 70000, enabled: true } }), DEFAULTS)).toEqual({ kind: 'refused', reason: 'port 70000 is not in 1–65535' });
    });

    it('turns the check off when the instance says so, and refuses an unknown mode or http without a URL', () => {
      expect(decideTarget(makeInstance({ healthCheckUrl: 'http://10.0.0.7/h', metadata: { [HEALTH_METADATA.mode]: 'off' } }), DEFAULTS)).toEqual({ kind: 'off', reason: 'healthcheck.mode=off' });
      expect(decideTarget(makeInstance({ metadata: { [HEALTH_METADATA.mode]: 'grpc' } }), DEFAULTS)).toEqual({ kind: 'refused', reason: 'healthcheck.mode must be http, tcp or off' });
      expect(decideTarget(makeInstance({ metadata: { [HEALTH_METADATA.mode]: 'http' } }), DEFAULTS)).toMatchObject({ kind: 'refused' });
    });

    it("refuses a health URL on another host instead of probing it", () => {
      expect(decideTarget(makeInstance({ healthCheckUrl: 'http://169.254.169.254/latest/meta-data/' }), DEFAULTS)).toEqual({ kind: 'refused', reason: "health URL host is not the instance's hostName or ipAddr" });
    });

    it('lets the instance narrow the thresholds within bounds', () => {
      const decide = (metadata: Record<string, string>): unknown => {
        const d = decideTarget(makeInstance({ healthCheckUrl: 'http://10.0.0.7/h', metadata }), DEFAULTS);
        return d.kind === 'probe' ? d.thresholds : d;
      };
      expect(decide({ 'healthcheck.intervalSecs': '30', 'healthcheck.timeoutSecs': '0.5', 'healthcheck.failuresBeforeDown': '5', 'healthcheck.successesBeforeUp': '1' })).toEqual({ intervalMs: 30_000, timeoutMs: 500, failuresBeforeDown: 5, successesBeforeUp: 1 });
      // Never more often, never longer than the server allows; counts within 1–100.
      expect(decide({ 'healthcheck.intervalSecs': '1', 'healthcheck.timeoutSecs': '60', 'healthcheck.failuresBeforeDown': '0', 'healthcheck.successesBeforeUp': '999' })).toEqual({ intervalMs: 10_000, timeoutMs: 2_000, failuresBeforeDown: 1, successesBeforeUp: 100 });
      expect(decide({ 'healthcheck.intervalSecs': '86400', 'healthcheck.timeoutSecs': '0' })).toMatchObject({ intervalMs: 3_600_000, timeoutMs: 10 });
      // What is not a number is ignored.
      expect(decide({ 'healthcheck.intervalSecs': 'soon', 'healthcheck.timeoutSecs': '-1', 'healthcheck.failuresBeforeDown': '1e3' })).toEqual(DEFAULTS);
    });
  });
});
