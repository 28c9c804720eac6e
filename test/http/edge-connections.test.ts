// Request bodies and connections at the HTTP edge, over real sockets: refusals that reach clients still sending,
// drains that end, aborted uploads that are not server errors, slow clients cut by the timeouts, and the cap on
// connections per address.
import { execFile } from 'node:child_process';
import { Server } from 'node:http';
import { connect, Socket } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { RunningServer, startServer } from '../../src/server';
import { javaLegacyBody } from '../helpers/bodies';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { waitFor } from '../helpers/wait';
import { parseProm, sample } from '../observability/support';

const DURATION = 'zone_registry_http_request_duration_seconds';
const REGISTER = { method: 'POST', route: '/apps/:app' };
const MB = 1024 * 1024;

async function start(flags: readonly string[] = []): Promise<{ server: RunningServer; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const server = await startServer(loadConfig(['--port', '0', '--host', '127.0.0.1', ...flags], {}), { logger });
  await server.ready;
  return { server, logger };
}

/** Count of requests recorded for the register route with this status code (0 when none). */
async function registerCount(server: RunningServer, code: string): Promise<number> {
  const samples = parseProm(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());
  const found = samples.some((s) => s.name === `${DURATION}_count` && s.labels.route === REGISTER.route && s.labels.code === code);
  return found ? sample(samples, `${DURATION}_count`, { ...REGISTER, code }) : 0;
}

// Node's http client in a process of its own (in this process the client and the server share one event loop,
// which hides the race): `tries` uploads of `bytes` in 1 MB writes, chunked or with the length declared; prints the
// status each read, or the error it got instead.
const NODE_CLIENT = `
const http = require('node:http');
const [port, bytes, declare, tries] = process.argv.slice(1).map(Number);
const MB = 1024 * 1024;
const once = () => new Promise((resolve) => {
  const headers = { 'content-type': 'application/json' };
  if (declare) headers['content-length'] = bytes;
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/eureka/apps/ORDERS', headers, agent: false }, (res) => {
    resolve(res.statusCode);
    res.resume();
  });
  req.on('error', (e) => resolve(e.code || e.message));
  const chunk = Buffer.alloc(MB, 'x');
  for (let sent = 0; sent < bytes; sent += MB) req.write(chunk.subarray(0, Math.min(MB, bytes - sent)));
  req.end();
});
(async () => {
  const seen = [];
  for (let i = 0; i < tries; i++) seen.push(await once());
  process.stdout.write(JSON.stringify(seen));
})();
`;

function nodeUploads(port: number, bytes: number, declareLength: boolean, tries: number): Promise<(number | string)[]> {
  return new Promise((resolve, reject) => {
    const args = ['-e', NODE_CLIENT, String(port), String(bytes), declareLength ? '1' : '0', String(tries)];
    execFile(process.execPath, args, { timeout: 60_000 }, (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as (number | string)[])));
  });
}

/** A raw connection from `localAddress`; resolves once connected. */
function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything a socket receives until it closes, and how it closed. */
function untilClosed(socket: Socket, timeoutMs = 10_000): Promise<{ received: string; error?: string }> {
  return new Promise((resolve, reject) => {
    let received = '';
    let error: string | undefined;
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms; received ${JSON.stringify(received.slice(0, 200))}`)), timeoutMs);
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, error });
    });
  });
}

/** Sends a GET on an open keep-alive connection and resolves with the status line of the answer. */
function getOver(socket: Socket, path = '/eureka/apps'): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (d: Buffer): void => {
      received += d.toString('latin1');
      if (received.includes('\r\n')) {
        socket.off('data', onData);
        resolve(received.slice(0, received.indexOf('\r\n')));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before an answer to GET ${path}`)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n`);
  });
}

const head = (length: number): string => `POST /eureka/apps/ORDERS HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('HTTP edge', () => {
  let server: RunningServer | undefined;
  let logger: RecordingLogger;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.close();
    server = undefined;
  });

  describe('refused bodies', () => {
    it('lets Node clients read the 413 of a 20 MB chunked upload, every time', async () => {
      ({ server, logger } = await start());
      expect(await nodeUploads(server.port, 20 * MB, false, 10)).toEqual(Array(10).fill(413));
    });

    it('lets Node clients read the 413 of a declared Content-Length over maxBodyBytes, every time', async () => {
      ({ server, logger } = await start());
      expect(await nodeUploads(server.port, 20 * MB, true, 10)).toEqual(Array(10).fill(413));
      expect(server.registry.size).toBe(0);
    });

    it('lets a client that sends the whole body before reading read the 413, then closes cleanly', async () => {
      ({ server, logger } = await start());
      const socket = await open(server.port);
      sockets.push(socket);
      const closed = untilClosed(socket);
      const body = Buffer.alloc(4 * MB, 'x');
      await new Promise<void>((resolve) => socket.write(Buffer.concat([Buffer.from(head(body.length)), body]), () => resolve()));
      const { received, error } = await closed;
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
      expect(received).toMatch(/connection: close/i);
      expect(error).toBeUndefined();
    });

    it('lets a client read the 415 of an unsupported Content-Encoding sent before the body', async () => {
      ({ server, logger } = await start());
      const socket = await open(server.port);
      sockets.push(socket);
      const closed = untilClosed(socket);
      const body = Buffer.alloc(2 * MB, 'x');
      const headers = 'POST /eureka/apps/ORDERS HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: br\r\nTransfer-Encoding: chunked\r\n\r\n';
      const chunked = Buffer.concat([Buffer.from(headers + body.length.toString(16) + '\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
      await new Promise<void>((resolve) => socket.write(chunked, () => resolve()));
      const { received, error } = await closed;
      expect(received).toMatch(/^HTTP\/1\.1 415 /);
      expect(error).toBeUndefined();
    });

    it('lets Node clients read the 413 of a body far past bodyDrainMaxBytes before the connection is cut', async () => {
      ({ server, logger } = await start(['--body-drain-max-bytes', String(MB), '--body-drain-timeout-ms', '300']));
      expect(await nodeUploads(server.port, 20 * MB, false, 5)).toEqual(Array(5).fill(413));
    });

    it('stops reading past bodyDrainMaxBytes and destroys the connection after bodyDrainTimeoutMs', async () => {
      ({ server, logger } = await start(['--body-drain-max-bytes', String(256 * 1024), '--body-drain-timeout-ms', '300']));
      const socket = await open(server.port);
      sockets.push(socket);
      const closed = untilClosed(socket);
      socket.write(head(1024 * MB));
      // Keeps sending until the server cuts the connection; what it accepts is the drain plus the sockets' buffers.
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
      const { received } = await closed;
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
      expect(socket.bytesWritten).toBeLessThan(64 * MB);
    });

    it('destroys the connection when the rest of the body takes longer than bodyDrainTimeoutMs', async () => {
      ({ server, logger } = await start(['--body-drain-timeout-ms', '200']));
      const socket = await open(server.port);
      sockets.push(socket);
      const closed = untilClosed(socket);
      socket.write(head(10 * MB) + 'x'.repeat(1000));
      const { received } = await closed;
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
    });
  });

  describe('aborted uploads', () => {
    it('records 499, logs no error and keeps serving when clients abort mid-body', async () => {
      ({ server, logger } = await start());
      for (let i = 0; i < 5; i++) {
        const socket = await open(server.port);
        socket.write(head(10_000) + '{"instance": {');
        // The server has the head and part of the body (the handler waits for the rest) when the client goes.
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.destroy();
      }
      await waitFor(async () => (await registerCount(server as RunningServer, '499')) === 5, 'five 499s');
      expect(await registerCount(server, '500')).toBe(0);
      expect(logger.messages('error')).toEqual([]);
      const res = await fetch(`http://127.0.0.1:${server.port}/eureka/apps/ORDERS`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(javaLegacyBody()) });
      expect(res.status).toBe(204);
    });

    it('records 499 when a client aborts a gzip-encoded upload', async () => {
      ({ server, logger } = await start());
      const socket = await open(server.port);
      socket.write(head(10_000).replace('\r\n\r\n', '\r\nContent-Encoding: gzip\r\n\r\n') + '\x1f\x8b');
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.destroy();
      await waitFor(async () => (await registerCount(server as RunningServer, '499')) === 1, 'a 499');
      expect(logger.messages('error')).toEqual([]);
    });
  });

  describe('slow clients', () => {
    it('closes a connection whose headers never finish after headersTimeoutMs', async () => {
      ({ server, logger } = await start(['--headers-timeout-ms', '300', '--request-timeout-ms', '600']));
      const socket = await open(server.port);
      sockets.push(socket);
      const closed = untilClosed(socket);
      socket.write('POST /eureka/apps/ORDERS HTTP/1.1\r\nHost: x\r\n');
      const trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 50);
      try {
        const { received } = await closed;
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
      } finally {
        clearInterval(trickle);
      }
    });

    it('closes a connection whose body trickles after requestTimeoutMs, and records no 500', async () => {
      ({ server, logger } = await start(['--headers-timeout-ms', '300', '--request-timeout-ms', '600']));
      const socket = await open(server.port);
      sockets.push(socket);
      const closed = untilClosed(socket);
      socket.write(head(10_000));
      const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
      try {
        const { received } = await closed;
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
      } finally {
        clearInterval(trickle);
      }
      await waitFor(async () => (await registerCount(server as RunningServer, '408')) === 1, 'a 408 recorded');
      expect(await registerCount(server, '500')).toBe(0);
      expect(logger.messages('error')).toEqual([]);
    });
  });

  describe('connections per address', () => {
    it('closes connections over maxConnectionsPerAddress from one address while others still connect', async () => {
      ({ server, logger } = await start(['--max-connections-per-address', '3']));
      const port = server.port;
      const kept: Socket[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await open(port);
        sockets.push(s);
        expect(await getOver(s)).toMatch(/ 200 /);
        kept.push(s);
      }
      for (let i = 0; i < 2; i++) {
        const extra = await open(port);
        sockets.push(extra);
        const closed = untilClosed(extra);
        extra.write('GET /eureka/apps HTTP/1.1\r\nHost: x\r\n\r\n');
        expect((await closed).received).toBe('');
      }
      const other = await open(port, '127.0.0.2');
      sockets.push(other);
      expect(await getOver(other)).toMatch(/ 200 /);
      expect(logger.lines.filter((l) => l.level === 'warn' && l.fields?.address === '127.0.0.1')).toHaveLength(1);
      // A closed connection frees its place.
      kept[0].destroy();
      await waitFor(async () => {
        const again = await open(port);
        sockets.push(again);
        return getOver(again).then(() => true, () => false);
      }, 'a new connection from 127.0.0.1 once one closed');
      for (const s of kept.slice(1)) expect(await getOver(s)).toMatch(/ 200 /);
    });
  });

  describe('listening sockets', () => {
    it('answers on every socket of the port (acceptors), and closes them all', async () => {
      ({ server, logger } = await start(['--acceptors', '4']));
      const port = server.port;
      for (let i = 0; i < 32; i++) {
        const socket = await open(port);
        sockets.push(socket);
        expect(await getOver(socket)).toMatch(/ 200 /);
      }
      await server.close();
      server = undefined;
      // A socket left listening would take some of these.
      const attempts = await Promise.all(Array.from({ length: 32 }, () => open(port).then((s) => (s.destroy(), 'connected'), (e: NodeJS.ErrnoException) => e.code)));
      expect(attempts).toEqual(attempts.map(() => 'ECONNREFUSED'));
    });
  });

  describe('listen backlog', () => {
    it('listens with listenBacklog: 4096 by default (Node would take 511), or the configured value', async () => {
      const listen = jest.spyOn(Server.prototype, 'listen');
      try {
        ({ server, logger } = await start());
        // Each listening socket of the port (acceptors) with it.
        expect(listen).toHaveBeenCalledWith(expect.objectContaining({ port: 0, host: '127.0.0.1', backlog: 4096 }), expect.any(Function));
        expect(listen.mock.calls.map(([options]) => (options as { backlog?: number }).backlog)).toEqual(listen.mock.calls.map(() => 4096));
        await server.close();
        listen.mockClear();
        ({ server, logger } = await start(['--listen-backlog', '1234']));
        expect(listen.mock.calls.length).toBeGreaterThan(0);
        expect(listen.mock.calls.map(([options]) => (options as { backlog?: number }).backlog)).toEqual(listen.mock.calls.map(() => 1234));
      } finally {
        listen.mockRestore();
      }
    });
  });
});
