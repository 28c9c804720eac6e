// A fake Eureka peer over real HTTP on 127.0.0.1: answers POST /eureka/peerreplication/batch/ as the test scripts
// (e.g. 429 with Retry-After), or accepts the batch, records its items and answers 200 for each.
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ReceivedItem } from './replication-peer-client';

/** A scripted refusal: status and headers, empty body. */
export interface Refusal {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export class FakePeer {
  /** Batch requests received, accepted or not. */
  requests = 0;
  /** Items of the accepted batches, in arrival order. */
  readonly items: ReceivedItem[] = [];
  /** Decides the answer to the n-th batch request (1-based): a refusal, or undefined to accept it. */
  refuse: (n: number) => Refusal | undefined = () => undefined;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  /** Listens on a free loopback port; returns the peer's Eureka base URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/eureka/`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/eureka/peerreplication/batch/') {
        res.writeHead(404).end();
        return;
      }
      const refusal = this.refuse(++this.requests);
      if (refusal) {
        res.writeHead(refusal.status, { ...refusal.headers, 'content-length': '0' }).end();
        return;
      }
      const list = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { replicationList: ReceivedItem[] }).replicationList;
      this.items.push(...list);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ responseList: list.map(() => ({ statusCode: 200 })) }));
    });
  }
}
