// The probe adapters against real servers on 127.0.0.1 (port 0): status codes, redirects never followed, bodies
// never read, timeouts by the abort signal, refused connections, https with a self-signed certificate.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import { HttpProber, PROBE_USER_AGENT } from '../../src/health/http';
import { TcpProber } from '../../src/health/tcp';
import { checkHealthUrl, HttpTarget } from '../../src/health/target';
import { freePorts } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { selfSignedCertificate, TempDir } from '../security/support';

const HOST = '127.0.0.1';

/** A server on 127.0.0.1 answering with `handler`; records the requests; close() cuts every connection. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: { cert: Buffer; key: Buffer }): Promise<{ port: number; requests: IncomingMessage[]; close: () => Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push(req);
    handler(req, res);
  };
  const server: Server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function target(url: string): HttpTarget {
  const t = checkHealthUrl(url, 'localhost', HOST);
  if ('refused' in t) throw new Error(t.refused);
  return t;
}

const never = (): AbortSignal => new AbortController().signal;

describe('HttpProber', () => {
  describe('probe', () => {
    it('answers healthy on a 2xx and sends the URL path, host and its user agent', async () => {
      const s = await serve((_req, res) => res.writeHead(204).end());
      try {
        const result = await new HttpProber().probe(target(`http://localhost:${s.port}/actuator/health?deep=1`), never());
        expect(result).toEqual({ outcome: 'healthy', detail: 'HTTP 204' });
        expect(s.requests.map((r) => [r.method, r.url, r.headers.host, r.headers['user-agent']])).toEqual([['GET', '/actuator/health?deep=1', `localhost:${s.port}`, PROBE_USER_AGENT]]);
      } finally {
        await s.close();
      }
    });

    it('answers unhealthy on another status', async () => {
      const s = await serve((_req, res) => res.writeHead(503).end('{"status":"DOWN"}'));
      try {
        expect(await new HttpProber().probe(target(`http://${HOST}:${s.port}/health`), never())).toEqual({ outcome: 'unhealthy', detail: 'HTTP 503' });
      } finally {
        await s.close();
      }
    });

    it('never follows a redirect', async () => {
      const elsewhere = await serve((_req, res) => res.writeHead(200).end());
      const s = await serve((_req, res) => res.writeHead(302, { location: `http://${HOST}:${elsewhere.port}/` }).end());
      try {
        expect(await new HttpProber().probe(target(`http://${HOST}:${s.port}/health`), never())).toEqual({ outcome: 'unhealthy', detail: 'HTTP 302 (redirects are not followed)' });
        expect(elsewhere.requests).toHaveLength(0);
      } finally {
        await Promise.all([s.close(), elsewhere.close()]);
      }
    });

    it('keeps the verdict of the status line when the body stalls past the timeout', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
      });
      try {
        const controller = new AbortController();
        const probing = new HttpProber().probe(target(`http://${HOST}:${s.port}/health`), controller.signal);
        await waitFor(() => s.requests.length === 1, 'the probe to arrive');
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.abort();
        expect(await probing).toEqual({ outcome: 'healthy', detail: 'HTTP 200' });
      } finally {
        await s.close();
      }
    });

    it('cuts a body longer than MAX_PROBE_BODY_BYTES', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(64 * 1024));
      });
      try {
        expect(await new HttpProber().probe(target(`http://${HOST}:${s.port}/health`), never())).toEqual({ outcome: 'healthy', detail: 'HTTP 200' });
      } finally {
        await s.close();
      }
    });

    it('answers timeout when the signal aborts before the answer', async () => {
      const s = await serve(() => undefined);
      try {
        const controller = new AbortController();
        const probing = new HttpProber().probe(target(`http://${HOST}:${s.port}/health`), controller.signal);
        await new Promise((resolve) => setImmediate(resolve));
        controller.abort();
        expect(await probing).toEqual({ outcome: 'timeout', detail: 'no answer within the timeout' });
      } finally {
        await s.close();
      }
    });

    it('answers error when nothing listens', async () => {
      const [port] = await freePorts(1);
      expect(await new HttpProber().probe(target(`http://${HOST}:${port}/health`), never())).toEqual({ outcome: 'error', detail: 'ECONNREFUSED' });
    });

    it('answers error when the server is not HTTP', async () => {
      const sockets: Socket[] = [];
      const raw: TcpServer = createTcpServer((socket: Socket) => {
        sockets.push(socket);
        socket.end('hello\r\n\r\n');
      });
      await new Promise<void>((resolve) => raw.listen(0, HOST, resolve));
      try {
        const result = await new HttpProber().probe(target(`http://${HOST}:${(raw.address() as AddressInfo).port}/health`), never());
        expect(result).toEqual({ outcome: 'error', detail: 'HPE_INVALID_CONSTANT' });
      } finally {
        for (const socket of sockets) socket.destroy();
        raw.close();
      }
    });

    it('probes https without verifying who signed the certificate', async () => {
      const dir = new TempDir();
      try {
        const cert = selfSignedCertificate(dir);
        const s = await serve((_req, res) => res.writeHead(200).end(), { cert: cert.cert, key: readFileSync(cert.keyFile) });
        try {
          expect(await new HttpProber().probe(target(`https://localhost:${s.port}/health`), never())).toEqual({ outcome: 'healthy', detail: 'HTTP 200' });
        } finally {
          await s.close();
        }
      } finally {
        dir.cleanup();
      }
    });
  });
});

describe('TcpProber', () => {
  describe('probe', () => {
    it('answers healthy once a connection is established, and closes it', async () => {
      const closed: Promise<void>[] = [];
      const raw = createTcpServer((socket) => closed.push(new Promise((resolve) => socket.on('close', () => resolve()))));
      await new Promise<void>((resolve) => raw.listen(0, HOST, resolve));
      try {
        expect(await new TcpProber().probe({ kind: 'tcp', host: HOST, port: (raw.address() as AddressInfo).port }, never())).toEqual({ outcome: 'healthy', detail: 'connected' });
        await Promise.all(closed);
        expect(closed).toHaveLength(1);
      } finally {
        await new Promise<void>((resolve) => raw.close(() => resolve()));
      }
    });

    it('answers error when nothing listens', async () => {
      const [port] = await freePorts(1);
      expect(await new TcpProber().probe({ kind: 'tcp', host: HOST, port }, never())).toEqual({ outcome: 'error', detail: 'ECONNREFUSED' });
    });

    it('answers timeout at once when the signal is already aborted', async () => {
      const [port] = await freePorts(1);
      const controller = new AbortController();
      controller.abort();
      expect(await new TcpProber().probe({ kind: 'tcp', host: HOST, port }, controller.signal)).toEqual({ outcome: 'timeout', detail: 'no answer within the timeout' });
    });
  });
});
