'use strict';
// Load generation and measurement helpers for bench/run.js. The generator runs in the harness process, which run.js
// pins to its own core; it must cost less per request than the server it measures, or it measures itself. Hence:
//  - RawConnection: pre-encoded requests written to keep-alive sockets, responses delimited by Content-Length and
//    otherwise only counted, never parsed or copied, read through one reused 1 MiB buffer. autocannon's JavaScript
//    HTTP parser saturated the generator core at a third of the server's capacity on multi-MB registry responses
//    (and ~30x lower on gzipped ones); this client leaves the server as the bottleneck. Responses must carry
//    Content-Length (every response of the servers measured here does); a chunked one fails the run loudly.
//  - closedLoop(): N connections, each sending its next request as soon as the previous one is answered: the most a
//    server serves (throughput), with latency from send to last byte. Also used to send a list of distinct
//    requests once each (registrations).
//  - autocannonLoop(): the same with autocannon, kept as a cross-check (BENCH_CLIENT=autocannon).
//  - openLoop(): requests fired on a fixed schedule whatever the server does, latency measured from the scheduled send
//    time, so a stalled server shows up as latency instead of silently lowering the offered load (no "coordinated
//    omission") — the honest measure of behaviour under a given load.
//  - /proc readers: a process's CPU time and resident memory, and the CPU used by everything else meanwhile.
const http = require('node:http');
const net = require('node:net');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

// ---------------------------------------------------------------------------------------------------------------
// Statistics

/** Growable array of float samples (latencies in ms). */
class Samples {
  constructor(capacity = 1 << 16) {
    this.data = new Float64Array(capacity);
    this.length = 0;
  }
  push(v) {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  /** @returns {{ p50: number, p90: number, p99: number, max: number }} ms; NaN when empty */
  percentiles() {
    if (this.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN };
    const sorted = this.data.slice(0, this.length).sort();
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] };
  }
}

/** Median of numbers, ignoring NaN/undefined; NaN when none. */
function median(values) {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------------------------
// /proc readers (Linux)

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* CLK_TCK is 100 on every Linux we run on */
}

/** CPU time (user + system, all threads) the process has used so far, ms. */
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clkTck;
}

/** User + nice + system time of the whole machine so far, ms (the counterpart of processes' utime + stime). */
function machineCpuMs() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  return ((Number(line[1]) + Number(line[2]) + Number(line[3])) * 1000) / clkTck;
}

/** Per core: [busy, total] time so far, ticks; busy includes interrupts and softirq (loopback TCP runs there). */
function coreTicks() {
  const out = [];
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    out[Number(m[1])] = [user + nice + system + irq + softirq + steal, user + nice + system + idle + iowait + irq + softirq + steal];
  }
  return out;
}

/** Resident and peak resident memory of the process, bytes. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm')) || [])[1]) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

/**
 * Runs `fn` and reports the CPU time used meanwhile by the server, by this (generator) process, and by everything
 * else on the machine ("other": builds, tests… that make a measurement unreliable), and how busy each core was
 * (%, including the kernel's interrupt and softirq work, which no process is charged for).
 * @template T
 * @param {number} serverPid
 * @param {() => Promise<T>} fn
 * @returns {Promise<{ result: T, serverCpuMs: number, genCpuMs: number, otherCpuMs: number, wallMs: number, coreBusyPct: number[] }>}
 */
async function withCpu(serverPid, fn) {
  const from = cpuSnapshot(serverPid);
  const result = await fn();
  return { result, ...cpuSince(from) };
}

/** CPU counters of the server, this generator, the machine and each core, now: the start of a window for cpuSince. */
function cpuSnapshot(serverPid) {
  return { serverPid, s0: cpuMs(serverPid), m0: machineCpuMs(), c0: coreTicks(), g0: process.cpuUsage(), t0: performance.now() };
}

/** CPU used since `from` (a cpuSnapshot): the server's, the generator's, the rest of the machine's, each core's busy share. */
function cpuSince({ serverPid, s0, m0, c0, g0, t0 }) {
  const wallMs = performance.now() - t0;
  const g = process.cpuUsage(g0);
  const serverCpuMs = cpuMs(serverPid) - s0;
  const genCpuMs = (g.user + g.system) / 1000;
  const otherCpuMs = Math.max(0, machineCpuMs() - m0 - serverCpuMs - genCpuMs);
  const coreBusyPct = coreTicks().map(([busy, total], i) => (100 * (busy - c0[i][0])) / Math.max(1, total - c0[i][1]));
  return { serverCpuMs, genCpuMs, otherCpuMs, wallMs, coreBusyPct };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw HTTP/1.1 keep-alive connection

/**
 * @typedef {{ method: string, path: string, headers?: Record<string,string>, body?: string }} RequestSpec
 * @typedef {{ requests: number, seconds: number, rps: number, p50: number, p90: number, p99: number, max: number,
 *   errors: number, timeouts: number, non2xx: number, bytes: number, bytesPerResponse: number,
 *   statuses: Record<string, number> }} LoadResult
 */

/** The request as bytes on the wire. */
function encodeRequest(spec, port) {
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`;
  for (const [k, v] of Object.entries(spec.headers || {})) head += `${k}: ${v}\r\n`;
  if (spec.body !== undefined) head += `content-length: ${Buffer.byteLength(spec.body)}\r\n`;
  else if (spec.method === 'POST' || spec.method === 'PUT') head += 'content-length: 0\r\n';
  return spec.body === undefined ? Buffer.from(head + '\r\n', 'latin1') : Buffer.from(head + '\r\n' + spec.body, 'utf8');
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const TIMEOUT_MS = 10000;

/**
 * One keep-alive connection with at most one request in flight.
 * `onResponse(status, bytes)` fires when a response is complete; `onClose(inFlight)` when the socket is gone.
 */
class RawConnection {
  /**
   * @param {number} port
   * @param {Buffer} readBuffer reused for every read (shared by all connections of a loop: reads are sequential)
   * @param {{ onResponse: (status: number, bytes: number) => void, onClose: (inFlight: boolean, error?: Error & { timeout?: boolean }) => void, onConnect?: (ms: number) => void }} handlers
   */
  constructor(port, readBuffer, handlers) {
    this.handlers = handlers;
    this.busy = false;
    this.closed = false;
    this.head = null; // partial response head carried across reads
    this.remaining = -1; // body bytes still expected; -1 while reading a head
    this.status = 0;
    this.bytes = 0;
    /** @type {(Error & { timeout?: boolean }) | undefined} */
    this.error = undefined;
    this.socket = net.connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: readBuffer,
        callback: (n, buf) => {
          this.onData(buf, n);
          return true; // keep reading
        },
      },
    });
    if (handlers.onConnect) {
      const t0 = performance.now();
      this.socket.once('connect', () => handlers.onConnect?.(performance.now() - t0));
    }
    this.socket.setNoDelay(true);
    this.socket.setTimeout(TIMEOUT_MS, () => {
      if (this.busy) this.destroy(Object.assign(new Error('timeout'), { timeout: true }));
    });
    this.socket.on('error', (e) => (this.error ??= e));
    this.socket.on('close', () => {
      this.closed = true;
      const inFlight = this.busy;
      this.busy = false;
      this.handlers.onClose(inFlight, this.error);
    });
  }

  /** Sends a pre-encoded request (writes before the connection is up are queued by Node). */
  send(bytes) {
    this.busy = true;
    this.socket.write(bytes);
  }

  destroy(error) {
    if (error) this.error ??= error;
    this.socket.destroy();
  }

  onData(buf, n) {
    let offset = 0;
    while (offset < n) {
      if (this.remaining < 0) {
        // Reading a head: find its end, possibly across reads.
        const chunk = this.head ? Buffer.concat([this.head, buf.subarray(offset, n)]) : buf.subarray(offset, n);
        const end = chunk.indexOf(CRLFCRLF);
        if (end < 0) {
          this.head = Buffer.from(chunk); // copy: the read buffer is reused
          return;
        }
        const text = chunk.toString('latin1', 0, end).toLowerCase();
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(text);
        if (!cl && /\r\ntransfer-encoding:/.test(text)) {
          return this.destroy(new Error('response without Content-Length (chunked): not supported by the raw client; use BENCH_CLIENT=autocannon'));
        }
        this.status = Number(text.slice(9, 12));
        this.remaining = cl ? Number(cl[1]) : 0;
        this.bytes = end + 4 + this.remaining;
        offset += end + 4 - (this.head ? this.head.length : 0);
        this.head = null;
      } else {
        const take = Math.min(this.remaining, n - offset);
        this.remaining -= take;
        offset += take;
      }
      if (this.remaining === 0) {
        this.remaining = -1;
        this.busy = false;
        this.handlers.onResponse(this.status, this.bytes);
        if (this.socket.destroyed) return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Closed loop

/**
 * Closed loop over `connections` keep-alive connections. Either cycles through `requests` for `seconds`
 * (connections start at different requests), or, with `count` and `spec`, sends spec(0) … spec(count − 1) exactly
 * once each (stopping after `seconds` if not done; `complete` tells).
 * @param {{ port: number, connections: number, seconds: number, requests?: RequestSpec[], count?: number,
 *   spec?: (i: number) => RequestSpec }} opts
 * @returns {Promise<LoadResult & { complete: boolean }>}
 */
function closedLoop({ port, connections, seconds, requests, count, spec }) {
  const once = count !== undefined;
  const encoded = once ? null : /** @type {RequestSpec[]} */ (requests).map((r) => encodeRequest(r, port));
  // Distinct requests are encoded before the clock starts, as the repeated ones are: building ~1 KB registration
  // bodies while sending them made the generator, not the server, the limit of a fast server.
  const distinct = once ? Array.from({ length: count }, (_, i) => encodeRequest(/** @type {(i: number) => RequestSpec} */ (spec)(i), port)) : null;
  const readBuffer = Buffer.allocUnsafe(1 << 20);
  const latencies = new Samples(once ? count : undefined);
  /** @type {Record<string, number>} */
  const statuses = {};
  const r = { ok: 0, non2xx: 0, errors: 0, timeouts: 0, bytes: 0 };
  let issued = 0; // `once` mode: next request index
  let fatal = null;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;

  return new Promise((resolve, reject) => {
    let open = 0;
    const finish = () => {
      if (fatal) return reject(fatal);
      const end = once ? performance.now() : Math.min(performance.now(), deadline);
      const elapsed = (end - t0) / 1000;
      const total = r.ok + r.non2xx;
      resolve({
        requests: total,
        seconds: elapsed,
        rps: total / elapsed,
        ...latencies.percentiles(),
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        bytes: r.bytes,
        bytesPerResponse: total ? r.bytes / total : 0,
        statuses,
        complete: once ? issued >= count && r.errors + r.timeouts === 0 : true,
      });
    };
    const start = (c) => {
      open++;
      let next = Math.floor((c * (encoded ? encoded.length : 1)) / connections);
      let sentAt = 0;
      const conn = new RawConnection(port, readBuffer, {
        onResponse: (status, bytes) => {
          const now = performance.now();
          if (once || now <= deadline) {
            statuses[status] = (statuses[status] || 0) + 1;
            if (status >= 200 && status < 300) {
              r.ok++;
              latencies.push(now - sentAt);
            } else r.non2xx++;
            r.bytes += bytes;
          }
          sendNext();
        },
        onClose: (inFlight, error) => {
          open--;
          if (inFlight) {
            if (error && error.timeout) r.timeouts++;
            else r.errors++;
          }
          if (error && /chunked/.test(error.message)) fatal = error;
          // A connection lost while there is work left is replaced, as a client pool would (after a short pause).
          const workLeft = performance.now() < deadline && !fatal && (!once || issued < count);
          if (workLeft) setTimeout(() => start(c), 10);
          else if (open === 0) finish();
        },
      });
      const sendNext = () => {
        if (performance.now() >= deadline || fatal || (once && issued >= count)) return conn.destroy();
        sentAt = performance.now();
        if (once) conn.send(/** @type {Buffer[]} */ (distinct)[issued++]);
        else {
          const cycle = /** @type {Buffer[]} */ (encoded);
          conn.send(cycle[next]);
          next = (next + 1) % cycle.length;
        }
      };
      sendNext();
    };
    for (let c = 0; c < connections; c++) start(c);
  });
}

/**
 * closedLoop() for `seconds` with autocannon instead of RawConnection, for cross-checking. Latency percentiles come
 * from autocannon's per-response hrtime (its own histogram rounds to whole milliseconds).
 * @param {{ port: number, requests: RequestSpec[], connections: number, seconds: number }} opts
 * @returns {Promise<LoadResult>}
 */
function autocannonLoop({ port, requests, connections, seconds }) {
  const autocannon = require('autocannon');
  const latencies = new Samples();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: TIMEOUT_MS / 1000,
        requests: requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, body: r.body })),
      },
      (err, res) => {
        if (err) return reject(err);
        resolve({
          requests: res.requests.total,
          seconds: res.duration,
          rps: res.requests.total / res.duration,
          ...latencies.percentiles(),
          errors: res.errors,
          timeouts: res.timeouts,
          non2xx: res.non2xx,
          bytes: res.throughput.total,
          bytesPerResponse: latencies.length ? res.throughput.total / latencies.length : 0, // 2xx only
          statuses: res.statusCodeStats,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Open loop

/**
 * @typedef {{ name: string, rate: number, next: (k: number) => RequestSpec }} Stream
 * @typedef {{ name: string, target: number, scheduled: number, completed: number, achievedRps: number, ok: number,
 *   errors: number, non2xx: number, p50: number, p90: number, p99: number, max: number, bytesPerResponse: number,
 *   timeline: { second: number, count: number, p99: number, max: number }[] }} StreamResult
 */

/**
 * Fires each stream's requests at its fixed rate for `seconds` (request k of a stream is due at start + k/rate) over a
 * pool of up to `maxSockets` keep-alive connections: a due request takes an idle connection, opens a new one while
 * the pool is below `maxSockets`, or waits in a FIFO for the next free one. A 1 ms timer sends everything that is
 * due, so sends are at most a timer tick late (reported as send lag). Latency is measured from the *scheduled* time,
 * so generator lag, waiting for a connection and server stalls all count. Responses still missing `drainSeconds`
 * after the last send count as errors. With `warmupSeconds`, the streams run that much longer first on the same
 * connections (as a fleet's clients keep theirs), unmeasured; `onMeasuring` is called when the measured part starts.
 * @param {{ port: number, streams: Stream[], seconds: number, maxSockets: number, drainSeconds?: number,
 *   warmupSeconds?: number, onMeasuring?: () => void }} opts
 * @returns {Promise<{ seconds: number, streams: StreamResult[], sendLagP99Ms: number, maxInFlight: number,
 *   connections: number, connectP99Ms: number, queuedRequests: number }>} `connectP99Ms`: from opening a connection to
 *   its 'connect'; `queuedRequests`: requests that waited for a free connection
 */
function openLoop({ port, streams, seconds, maxSockets, drainSeconds = 10, warmupSeconds = 0, onMeasuring }) {
  const readBuffer = Buffer.allocUnsafe(1 << 20);
  const warmMs = warmupSeconds * 1000;
  const state = streams.map((s) => ({
    ...s,
    interval: 1000 / s.rate,
    total: Math.floor(s.rate * (warmupSeconds + seconds)),
    // Requests due in the warm-up (request k is due at k × interval): sent on the same connections, not measured.
    warm: Math.min(Math.floor(s.rate * (warmupSeconds + seconds)), Math.ceil((warmMs * s.rate) / 1000)),
    warmCompleted: 0,
    sent: 0,
    completed: 0,
    ok: 0,
    errors: 0,
    non2xx: 0,
    bytes: 0,
    latencies: new Samples(Math.max(16, Math.floor(s.rate * seconds))),
    perSecond: /** @type {Samples[]} */ ([]), // per scheduled second, for the timeline
  }));
  const lag = new Samples();
  const connectTimes = new Samples(1024); // ms from opening a connection to its 'connect'
  let queued = 0; // requests that waited for a free connection (every one of maxSockets busy)
  /** @typedef {RawConnection & { assign: (s: any, due: number, bytes: Buffer, k: number) => void }} PooledConnection */
  /** @type {PooledConnection[]} */
  const idle = [];
  /** @type {Set<PooledConnection>} */
  const all = new Set();
  const queue = []; // [stream, due, bytes] waiting for a connection
  let inFlight = 0;
  let maxInFlight = 0;
  let opened = 0;
  const start = performance.now() + 20;
  const measuredFrom = start + warmMs;
  let measuring = false;

  return new Promise((resolve) => {
    let timer;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const c of all) c.destroy();
      resolve({
        seconds: (performance.now() - measuredFrom) / 1000,
        streams: state.map((s) => ({
          name: s.name,
          target: s.rate,
          scheduled: s.total - s.warm,
          completed: s.completed,
          // Successful responses over the scheduled window (not the drain time).
          achievedRps: s.ok / seconds,
          ok: s.ok,
          errors: s.errors + (s.total - s.warm - s.completed),
          non2xx: s.non2xx,
          ...s.latencies.percentiles(),
          bytesPerResponse: s.completed ? s.bytes / s.completed : 0,
          // Per scheduled second: where in the run the slow responses were.
          timeline: Array.from(s.perSecond, (samples, second) => {
            const p = samples ? samples.percentiles() : { p99: NaN, max: NaN };
            return { second, count: samples ? samples.length : 0, p99: p.p99, max: p.max };
          }),
        })),
        sendLagP99Ms: lag.percentiles().p99,
        maxInFlight,
        connections: opened,
        connectP99Ms: connectTimes.percentiles().p99,
        queuedRequests: queued,
      });
    };
    const allDone = () => state.every((s) => s.sent === s.total && s.warmCompleted + s.completed === s.total);

    const record = (s, due, status, bytes, k) => {
      inFlight--;
      if (k < s.warm) {
        s.warmCompleted++;
        if (allDone()) finish();
        return;
      }
      s.completed++;
      s.bytes += bytes;
      if (status === 0) s.errors++;
      else if (status >= 300) s.non2xx++;
      else {
        const latency = performance.now() - due;
        s.ok++;
        s.latencies.push(latency);
        const second = Math.floor((due - measuredFrom) / 1000);
        (s.perSecond[second] ??= new Samples(Math.ceil(s.rate) + 16)).push(latency);
      }
      if (allDone()) finish();
    };

    const newConnection = () => {
      opened++;
      let current = null; // [stream, due] of the request in flight
      const conn = /** @type {PooledConnection} */ (new RawConnection(port, readBuffer, {
        onResponse: (status, bytes) => {
          const [s, due, k] = current;
          current = null;
          record(s, due, status, bytes, k);
          if (!finished) dispatch(conn);
        },
        onConnect: (ms) => connectTimes.push(ms),
        onClose: () => {
          all.delete(conn);
          const i = idle.indexOf(conn);
          if (i >= 0) idle.splice(i, 1);
          if (current) {
            const [s, due, k] = current;
            current = null;
            record(s, due, 0, 0, k);
          }
          // Requests waiting for a connection get a new one if no other connection will free up for them.
          if (!finished && queue.length > 0 && all.size < maxSockets) dispatch(newConnection());
        },
      }));
      conn.assign = (s, due, bytes, k) => {
        current = [s, due, k];
        conn.send(bytes);
      };
      all.add(conn);
      return conn;
    };

    /** A free connection takes the oldest waiting request, or goes idle. */
    const dispatch = (conn) => {
      const waiting = queue.shift();
      if (waiting) conn.assign(...waiting);
      else idle.push(conn);
    };

    const send = (s, due) => {
      const k = s.sent++;
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      const bytes = encodeRequest(s.next(k), port);
      const conn = idle.pop() ?? (all.size < maxSockets ? newConnection() : null);
      if (conn) conn.assign(s, due, bytes, k);
      else {
        queued++;
        queue.push([s, due, bytes, k]);
      }
    };

    const tick = () => {
      const now = performance.now();
      if (!measuring && now >= measuredFrom) {
        measuring = true;
        onMeasuring?.();
      }
      let pending = false;
      for (const s of state) {
        while (s.sent < s.total) {
          const due = start + s.sent * s.interval;
          if (due > now) break;
          if (s.sent >= s.warm) lag.push(now - due);
          send(s, due);
        }
        if (s.sent < s.total) pending = true;
      }
      if (pending) timer = setTimeout(tick, 1);
      else timer = setTimeout(finish, drainSeconds * 1000); // bounded wait for the last responses
    };
    timer = setTimeout(tick, 20);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// One request with node:http: captures (status, headers, whole body) and checks, not load

/**
 * @param {number} port
 * @param {RequestSpec} spec
 * @param {number} [timeoutMs]
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: Buffer }>}
 */
function request(port, spec, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    /** @type {Record<string, string | number>} */
    const headers = { ...(spec.headers || {}) };
    if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
    const req = http.request({ host: '127.0.0.1', port, method: spec.method, path: spec.path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: /** @type {number} */ (res.statusCode), headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${spec.method} ${spec.path}`)));
    req.on('error', reject);
    req.end(spec.body);
  });
}

module.exports = { Samples, median, cpuMs, machineCpuMs, coreTicks, memory, withCpu, cpuSnapshot, cpuSince, encodeRequest, closedLoop, autocannonLoop, openLoop, request, clkTck };
