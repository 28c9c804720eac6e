// Raw HTTP for the cases supertest hides: exact bytes (gzip), requests without Content-Type, malformed paths,
// unusual methods, chunked bodies. Servers listen on 127.0.0.1, port 0, and are always closed by the caller.
import { createServer, IncomingHttpHeaders, OutgoingHttpHeaders, request, RequestListener, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import type { Response } from 'supertest';

/** A listening server of a request listener. */
export interface Listening {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, a free port. */
export async function listen(app: RequestListener): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A request as it goes on the wire. */
export interface RawRequest {
  readonly method?: string;
  /** Sent verbatim (no encoding or normalisation). */
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length), in pieces of this many bytes. */
  readonly chunkSize?: number;
  /** Not sent: a description for failure messages (e.g. the body before gzip). */
  readonly note?: string;
  /** Give up (reject) when no complete response arrived within this many ms (default 5000). */
  readonly timeoutMs?: number;
}

/** A response as it came off the wire (no decompression). */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

/** Sends one request on a fresh connection and collects the raw response. */
export function rawRequest(port: number, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...r.headers };
    if (r.body !== undefined && r.chunkSize === undefined) headers['content-length'] = Buffer.byteLength(r.body);
    const req = request({ host: '127.0.0.1', port, method: r.method ?? 'GET', path: r.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.setTimeout(r.timeoutMs ?? 5000, () => req.destroy(new Error(`No response to ${r.method ?? 'GET'} ${r.path} within ${r.timeoutMs ?? 5000} ms`)));
    if (r.body === undefined) {
      req.end();
    } else if (r.chunkSize === undefined) {
      req.end(r.body);
    } else {
      const bytes = Buffer.from(r.body);
      for (let i = 0; i < bytes.length; i += r.chunkSize) req.write(bytes.subarray(i, i + r.chunkSize));
      req.end();
    }
  });
}

/** The body of a supertest response as text, whatever its content type (XML arrives as a Buffer). */
export function textOf(res: Response): string {
  if (typeof res.text === 'string') return res.text;
  return Buffer.isBuffer(res.body) ? res.body.toString('utf8') : '';
}
