// Clients of the watch for tests, over real sockets on 127.0.0.1 (one fresh connection each): a request that may stay
// parked (the test can tell whether it has been answered yet, or drop it), and an event-stream reader that parses
// server-sent events as they arrive.
import { Agent, ClientRequest, IncomingHttpHeaders, OutgoingHttpHeaders, request } from 'node:http';
import { RawResponse } from './http';
import { waitFor } from './wait';

/** A request in flight. */
export interface PendingRequest {
  /** Resolves with the whole response; rejects when none came within the timeout or the request was dropped. */
  readonly response: Promise<RawResponse>;
  /** Whether the whole response has arrived. */
  answered(): boolean;
  /** Closes the connection, as a client that goes away does. */
  drop(): void;
}

/** Options of {@link startRequest}. */
export interface StartOptions {
  readonly method?: string;
  /** Give up after this many ms without a complete response (default 10 000). */
  readonly timeoutMs?: number;
  /** A keep-alive agent to reuse connections with; default: a fresh connection. */
  readonly agent?: Agent;
}

/** Sends a GET (or `method`) and returns at once; the response is collected as it comes (no decompression). */
export function startRequest(port: number, path: string, headers: OutgoingHttpHeaders = {}, options: StartOptions = {}): PendingRequest {
  let done = false;
  let req: ClientRequest | undefined;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const response = new Promise<RawResponse>((resolve, reject) => {
    req = request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        done = true;
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req?.destroy(new Error(`No response to ${path} within ${timeoutMs} ms`)));
    req.end();
  });
  return {
    response,
    answered: () => done,
    drop: () => {
      response.catch(() => undefined);
      req?.destroy();
    },
  };
}

/** One server-sent event (or comment) as received. */
export interface SseEvent {
  readonly event?: string;
  readonly id?: string;
  readonly data?: string;
  readonly retry?: string;
  /** The text of a comment line (`: keep-alive` → `keep-alive`). */
  readonly comment?: string;
}

/** Parses complete event blocks (separated by a blank line) of an event stream; an unfinished last block is left out. */
export function parseEvents(text: string): SseEvent[] {
  const blocks = text.split('\n\n');
  blocks.pop();
  return blocks.map((block) => {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) fields.comment = line.slice(1).trim();
      else {
        const colon = line.indexOf(':');
        fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
      }
    }
    return fields as SseEvent;
  });
}

/** A client of GET {ctx}/watch: reads the stream until close() or the server ends it. */
export class EventStreamClient {
  private received = '';
  private finished = false;
  /** True when the server ended the stream properly (the last chunk arrived), false while open or when cut off. */
  complete = false;

  private constructor(
    private readonly req: ClientRequest,
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    /** Resolves when the server has ended the stream (or the connection closed). */
    readonly ended: Promise<void>,
  ) {}

  /** Opens a stream; resolves once the response headers arrived (rejects after `timeoutMs` without them). */
  static open(port: number, path: string, headers: OutgoingHttpHeaders = {}, timeoutMs = 10_000): Promise<EventStreamClient> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        const ended = new Promise<void>((done) => {
          res.on('end', () => {
            c.complete = true;
            done();
          });
          res.on('close', done);
          res.on('error', done);
        });
        const c = new EventStreamClient(req, res.statusCode ?? 0, res.headers, ended);
        void ended.then(() => {
          c.finished = true;
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          c.received += chunk;
        });
        req.setTimeout(0);
        resolve(c);
      });
      req.on('error', reject);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`No response headers to ${path} within ${timeoutMs} ms`)));
      req.end();
    });
  }

  /** Everything received so far. */
  get text(): string {
    return this.received;
  }

  /** Whether the server ended the stream. */
  get isEnded(): boolean {
    return this.finished;
  }

  /** Every complete event received so far, comments included. */
  events(): SseEvent[] {
    return parseEvents(this.received);
  }

  /** Every complete event of type `name` received so far. */
  named(name: string): SseEvent[] {
    return this.events().filter((e) => e.event === name);
  }

  /** Waits until `count` events of type `name` have arrived; resolves with them. */
  async waitForEvents(name: string, count = 1, timeoutMs = 5000): Promise<SseEvent[]> {
    await waitFor(() => this.named(name).length >= count, `${count} ${name} event(s) on the stream; got: ${JSON.stringify(this.received)}`, timeoutMs);
    return this.named(name);
  }

  /** Closes the connection, as a client that goes away does. */
  close(): void {
    this.req.destroy();
  }
}
