// The DNS interface in the composition root: off by default (no port, the status says so), a bad domain stops the
// start, and a DNS port that is taken fails it.
import { createSocket } from 'node:dgram';
import { ConfigError, defaultSettings } from '../../src/config/settings';
import { silentLogger } from '../../src/observability/logger';
import { DnsStatus } from '../../src/observability/server-status';
import { compose, startServer } from '../../src/server';
import { loadConfig } from '../../src/config/config';
import { startTestServer } from '../observability/support';

describe('compose', () => {
  describe('DNS settings', () => {
    it('leaves DNS off by default: no port, and the status says off', async () => {
      const server = await startTestServer();
      try {
        expect(server.dnsPort).toBeUndefined();
        const status = (await (await fetch(`${server.eurekaUrl}status`, { headers: { accept: 'application/json' } })).json()) as { dns: DnsStatus };
        expect(status.dns).toMatchObject({ enabled: false, domain: 'registry', ttlSecs: 5 });
        expect(status.dns.port).toBeUndefined();
      } finally {
        await server.close();
      }
    });

    it('refuses a domain that is no DNS name before anything listens', () => {
      const settings = { ...defaultSettings(), dnsEnabled: true, dnsDomain: 'my registry' };
      expect(() => compose({ settings, peerSet: { self: undefined, peers: [] } }, { logger: silentLogger })).toThrow(ConfigError);
      expect(() => compose({ settings, peerSet: { self: undefined, peers: [] } }, { logger: silentLogger })).toThrow(/dnsDomain/);
    });

    it('fails the start when the DNS port is taken', async () => {
      const holder = createSocket('udp4');
      await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
      try {
        const port = holder.address().port;
        const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error', '--dns-enabled', 'true', '--dns-port', String(port)], {});
        await expect(startServer(config, { logger: silentLogger })).rejects.toThrow(/EADDRINUSE/);
      } finally {
        holder.close();
      }
    });
  });
});
