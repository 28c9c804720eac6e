'use strict';
// Long-poll watch clients for bench/run/watch.js. WatcherPool holds thousands of keep-alive sockets spread over
// loopback source addresses (the server caps connections per client address, as it would for hosts behind one NAT),
// each with at most one `GET /eureka/apps/delta?since=R&wait=D` parked. As load.js's RawConnection, answers are
// delimited and only their status and X-Registry-Revision read, through one shared read buffer: waking 10,000 watchers
// must cost this process (the load generator) less than it costs the server, or the bench measures itself.
// RawClient is one such socket used for writes (registrations) on the same event loop, so both ends of a change are
// timed alike. DeltaWatcher is a client as an application would run it (node:http, parses every answer).
const http = require('node:http');
const net = require('node:net');

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');
const REVISION = /\r\nx-registry-revision:\s*(\d+)/i;
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const CLOSE = /\r\nconnection:\s*close/i;
const CHUNKED = /\r\ntransfer-encoding:\s*chunked/i;

/**
 * `count` loopback source addresses from 127.0.0.2 on (Linux routes all of 127.0.0.0/8 to the loopback interface).
 * @param {number} count
 * @returns {string[]}
 */
function loopbackAddresses(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const n = i + 2;
    out.push(`127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
  }
  return out;
}

/** The bytes of a long poll on the delta from revision `since`. */
function watchRequest(port, since, waitSecs) {
  return Buffer.from(`GET /eureka/apps/delta?since=${since}&wait=${waitSecs}s HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\naccept: application/json\r\n\r\n`, 'latin1');
}

/**
 * @typedef {{ status: number, revision: number, at: number, closing: boolean }} Answer
 *   status 0: the socket closed before an answer; `at`: performance.now() when the answer's last byte was read.
 */

/**
 * One keep-alive HTTP/1.1 socket with at most one request in flight; responses are delimited by Content-Length (or
 * a chunked body's last chunk) and not kept.
 */
class RawClient {
  /**
   * @param {{ port: number, localAddress?: string, readBuffer: Buffer, onAnswer: (a: Answer) => void, onClose?: () => void }} opts
   */
  constructor({ port, localAddress, readBuffer, onAnswer, onClose }) {
    this.onAnswer = onAnswer;
    this.inFlight = false;
    this.closed = false;
    this.connected = false;
    /** @type {Buffer | null} */
    this.head = null;
    this.remaining = -1; // body bytes still expected; -1 while reading a head
    this.chunked = false;
    this.tail = Buffer.alloc(0); // end of the chunked body read so far (its terminator may straddle two reads)
    this.status = 0;
    this.revision = NaN;
    this.closing = false;
    this.socket = net.connect({
      host: '127.0.0.1',
      port,
      localAddress,
      onread: {
        buffer: readBuffer,
        callback: (n, buf) => {
          this.onData(buf, n);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        this.connected = true;
        resolve(undefined);
      });
      this.socket.once('error', reject);
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      if (this.inFlight) {
        this.inFlight = false;
        this.onAnswer({ status: 0, revision: NaN, at: performance.now(), closing: true });
      }
      if (onClose) onClose();
    });
  }

  /** Writes a pre-encoded request. */
  send(bytes) {
    this.inFlight = true;
    this.socket.write(bytes);
  }

  destroy() {
    this.socket.destroy();
  }

  onData(buf, n) {
    let offset = 0;
    while (offset < n) {
      if (this.remaining < 0 && !this.chunked) {
        const chunk = this.head ? Buffer.concat([this.head, buf.subarray(offset, n)]) : buf.subarray(offset, n);
        const end = chunk.indexOf(CRLFCRLF);
        if (end < 0) {
          this.head = Buffer.from(chunk); // copy: the read buffer is reused
          return;
        }
        const text = chunk.toString('latin1', 0, end);
        this.status = Number(text.slice(9, 12));
        const rev = REVISION.exec(text);
        this.revision = rev ? Number(rev[1]) : NaN;
        this.closing = CLOSE.test(text);
        const cl = CONTENT_LENGTH.exec(text);
        offset += end + 4 - (this.head ? this.head.length : 0);
        this.head = null;
        if (cl) this.remaining = Number(cl[1]);
        else if (CHUNKED.test(text)) {
          this.chunked = true;
          this.tail = Buffer.from('\r\n');
        } else this.remaining = 0;
      } else if (this.chunked) {
        const piece = Buffer.concat([this.tail, buf.subarray(offset, n)]);
        const at = piece.indexOf(CHUNKED_END);
        if (at < 0) {
          this.tail = Buffer.from(piece.subarray(Math.max(0, piece.length - CHUNKED_END.length)));
          return;
        }
        offset += at + CHUNKED_END.length - this.tail.length;
        this.chunked = false;
        this.remaining = 0;
      } else {
        const take = Math.min(this.remaining, n - offset);
        this.remaining -= take;
        offset += take;
      }
      if (this.remaining === 0) {
        this.remaining = -1;
        this.inFlight = false;
        this.onAnswer({ status: this.status, revision: this.revision, at: performance.now(), closing: this.closing });
        if (this.socket.destroyed) return;
      }
    }
  }
}

/**
 * A round: the answers to one change. `at[i]` is when watcher i's answer arrived (NaN: none yet).
 * @typedef {{ at: Float64Array, answered: number, changed: number, statuses: Record<string, number>, minRevision: number, maxRevision: number }} Round
 */

/**
 * `count` long-poll watchers on one server. park(R) sends every idle watcher's `since=R` poll; answers that arrive
 * during a round (startRound … endRound) are recorded, not re-sent, so that re-parking does not compete with the
 * wake being measured. An answer outside a round (a wait that ran out, a change nobody measured) re-parks that watcher
 * at once from the revision it was given, and is counted in `outside`.
 */
class WatcherPool {
  /**
   * @param {{ port: number, count: number, addresses: string[], waitSecs: number }} opts
   */
  constructor({ port, count, addresses, waitSecs }) {
    this.port = port;
    this.count = count;
    this.addresses = addresses;
    this.waitSecs = waitSecs;
    this.readBuffer = Buffer.allocUnsafe(1 << 16);
    /** @type {RawClient[]} */
    this.clients = [];
    /** Polls sent and not answered. */
    this.parked = 0;
    /** Answers outside a round, and how many of those were not 200. */
    this.outside = 0;
    this.outsideNon200 = 0;
    /** Sockets the server closed (or that failed) while the pool was open. */
    this.lost = 0;
    this.closing = false;
    /** @type {Round | null} */
    this.round = null;
    /** @type {(() => void) | null} */
    this.onSettled = null;
    this.since = 0;
  }

  /** Opens every socket, at most `concurrency` connecting at once (the server's accept backlog is 511). */
  async open(concurrency = 200) {
    let next = 0;
    const opener = async () => {
      while (next < this.count) {
        const i = next++;
        const client = new RawClient({
          port: this.port,
          localAddress: this.addresses[i % this.addresses.length],
          readBuffer: this.readBuffer,
          onAnswer: (a) => this.answered(i, a),
          onClose: () => {
            if (!this.closing) this.lost++;
          },
        });
        this.clients[i] = client;
        await client.ready;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.count) }, opener));
  }

  /** Sends `since=revision` on every open, idle socket; returns how many were sent. */
  park(revision) {
    this.since = revision;
    const bytes = watchRequest(this.port, revision, this.waitSecs);
    let sent = 0;
    for (const c of this.clients) {
      if (!c || c.closed || c.inFlight) continue;
      c.send(bytes);
      sent++;
    }
    this.parked += sent;
    return sent;
  }

  startRound() {
    this.round = { at: new Float64Array(this.count).fill(NaN), answered: 0, changed: 0, statuses: {}, minRevision: Infinity, maxRevision: -1 };
  }

  /** Resolves true once every parked poll is answered, false after `timeoutMs`. */
  settled(timeoutMs) {
    if (this.parked === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onSettled = null;
        resolve(false);
      }, timeoutMs);
      this.onSettled = () => {
        clearTimeout(timer);
        this.onSettled = null;
        resolve(true);
      };
    });
  }

  /** @returns {Round} */
  endRound() {
    const r = /** @type {Round} */ (this.round);
    this.round = null;
    return r;
  }

  answered(i, a) {
    this.parked--;
    const r = this.round;
    if (r) {
      r.at[i] = a.at;
      r.answered++;
      r.statuses[a.status] = (r.statuses[a.status] || 0) + 1;
      if (a.status === 200 && a.revision > this.since) {
        r.changed++;
        if (a.revision < r.minRevision) r.minRevision = a.revision;
        if (a.revision > r.maxRevision) r.maxRevision = a.revision;
      }
    } else if (!this.closing) {
      this.outside++;
      if (a.status !== 200) this.outsideNon200++;
      else if (!a.closing && Number.isFinite(a.revision)) {
        this.clients[i].send(watchRequest(this.port, a.revision, this.waitSecs));
        this.parked++;
      }
    }
    if (this.parked === 0 && this.onSettled) this.onSettled();
  }

  close() {
    this.closing = true;
    for (const c of this.clients) if (c) c.destroy();
  }
}

/**
 * A watch client as an application runs it: full fetch, then `delta?since=R&wait=D` in a loop over one keep-alive
 * connection, reading every answer. `onSeen(instanceId, at)` for each instance in an answer (a full fetch after a
 * 410 included); `at` = performance.now() when the answer was read.
 */
class DeltaWatcher {
  /**
   * @param {{ port: number, waitSecs: number, onSeen: (id: string, at: number) => void }} opts
   */
  constructor({ port, waitSecs, onSeen }) {
    this.port = port;
    this.waitSecs = waitSecs;
    this.onSeen = onSeen;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.stopped = false;
    this.revision = NaN;
    this.answers = 0;
    this.emptyAnswers = 0;
    this.fullFetches = 0;
    this.failures = 0;
    /** @type {Promise<void> | null} */
    this.loop = null;
    /** @type {http.ClientRequest | null} */
    this.current = null;
  }

  /** @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: Buffer, at: number }>} */
  get(path, timeoutMs) {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path, agent: this.agent, headers: { accept: 'application/json' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: /** @type {number} */ (res.statusCode), headers: res.headers, body: Buffer.concat(chunks), at: performance.now() }));
        res.on('error', reject);
      });
      this.current = req;
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: GET ${path}`)));
      req.on('error', reject);
    });
  }

  seen(doc, at) {
    let n = 0;
    const apps = doc.applications && doc.applications.application;
    for (const app of Array.isArray(apps) ? apps : apps ? [apps] : []) {
      const list = Array.isArray(app.instance) ? app.instance : app.instance ? [app.instance] : [];
      for (const inst of list) {
        n++;
        this.onSeen(inst.instanceId, at);
      }
    }
    return n;
  }

  async fullFetch() {
    const res = await this.get('/eureka/apps', 30000);
    if (res.status !== 200) throw new Error(`GET /eureka/apps: ${res.status}`);
    const rev = Number(res.headers['x-registry-revision']);
    if (!Number.isFinite(rev)) throw new Error('GET /eureka/apps: no X-Registry-Revision header (does the server support the watch?)');
    this.fullFetches++;
    this.revision = rev;
    this.seen(JSON.parse(res.body.toString('utf8')), res.at);
  }

  /** Full fetch, then long polls until stop(). */
  async start() {
    await this.fullFetch();
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const res = await this.get(`/eureka/apps/delta?since=${this.revision}&wait=${this.waitSecs}s`, (this.waitSecs * 17 * 1000) / 16 + 10000);
          if (this.stopped) break;
          if (res.status === 200) {
            this.answers++;
            if (this.seen(JSON.parse(res.body.toString('utf8')), res.at) === 0) this.emptyAnswers++;
            this.revision = Number(res.headers['x-registry-revision']);
          } else if (res.status === 410) await this.fullFetch();
          else {
            this.failures++;
            await new Promise((r) => setTimeout(r, 100));
          }
        } catch {
          if (this.stopped) break;
          this.failures++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }

  async stop() {
    this.stopped = true;
    if (this.current) this.current.destroy();
    this.agent.destroy();
    if (this.loop) await this.loop;
  }
}

module.exports = { loopbackAddresses, watchRequest, RawClient, WatcherPool, DeltaWatcher };
