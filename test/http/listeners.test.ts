import { createServer, get, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { canSharePort, listenAll } from '../../src/http/listeners';

const AT = { host: '127.0.0.1', backlog: 511 };

// Servers answering with their own index, so that a client sees which socket accepted its connection.
function numbered(count: number): Server[] {
  return Array.from({ length: count }, (_, i) => createServer((_req, res) => res.end(String(i))));
}

// One request on a new connection; the index of the server that answered it.
function whoAnswers(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(Number(body)));
    }).on('error', reject);
  });
}

const closeAll = (servers: readonly Server[]): Promise<unknown> =>
  Promise.all(servers.map((s) => new Promise((resolve) => (s.listening ? s.close(resolve) : resolve(undefined)))));

describe('listening sockets', () => {
  describe('canSharePort', () => {
    it.each([
      ['24.11.0', 'linux', true],
      ['23.1.0', 'linux', true],
      ['23.0.0', 'linux', false],
      ['22.12.0', 'linux', true],
      ['22.11.0', 'linux', false],
      ['20.19.5', 'linux', false],
      ['24.11.0', 'darwin', false],
      ['24.11.0', 'win32', false],
    ])('Node %s on %s: %s', (version, platform, expected) => {
      expect(canSharePort(version, platform)).toBe(expected);
    });
  });

  describe('listenAll', () => {
    const opened: Server[] = [];
    afterEach(async () => {
      await closeAll(opened.splice(0));
    });
    const open = (count: number): Server[] => {
      const servers = numbered(count);
      opened.push(...servers);
      return servers;
    };
    const sharing = canSharePort() ? it : it.skip;

    sharing('listens with every server on one port, and the kernel spreads new connections over them', async () => {
      const servers = open(4);
      const refused: Error[] = [];
      const { servers: listening, port } = await listenAll(servers, { ...AT, port: 0 }, true, (e) => refused.push(e));
      expect(refused).toEqual([]);
      expect(listening).toEqual(servers);
      for (const s of servers) expect((s.address() as AddressInfo).port).toBe(port);
      const answeredBy = new Set<number>();
      for (let i = 0; i < 64; i++) answeredBy.add(await whoAnswers(port));
      // 64 connections all on one of four sockets: 4 × (1/4)^64 by chance.
      expect(answeredBy.size).toBeGreaterThan(1);
    });

    it('listens with the first server alone when the port cannot be shared', async () => {
      const servers = open(3);
      const { servers: listening, port } = await listenAll(servers, { ...AT, port: 0 }, false, () => undefined);
      expect(listening).toEqual([servers[0]]);
      expect(servers.map((s) => s.listening)).toEqual([true, false, false]);
      expect(await whoAnswers(port)).toBe(0);
    });

    sharing('fails with EADDRINUSE on a port another set of shared sockets listens on, instead of joining it', async () => {
      const first = open(2);
      const { port } = await listenAll(first, { ...AT, port: 0 }, true, () => undefined);
      const second = open(2);
      await expect(listenAll(second, { ...AT, port }, true, () => undefined)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(second.map((s) => s.listening)).toEqual([false, false]);
      expect([0, 1]).toContain(await whoAnswers(port));
    });

    sharing('leaves out a further socket the system refuses, and says why', async () => {
      const servers = open(3);
      // Already listening elsewhere: listening again is refused.
      await new Promise<void>((resolve) => servers[2].listen(0, '127.0.0.1', resolve));
      const refused: Error[] = [];
      const { servers: listening } = await listenAll(servers, { ...AT, port: 0 }, true, (e) => refused.push(e));
      expect(listening).toEqual(servers.slice(0, 2));
      expect(refused).toHaveLength(1);
    });
  });
});
