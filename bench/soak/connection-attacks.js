'use strict';
// Attacks on connections rather than parsers: slow-loris connections held open, oversized bodies streamed, and
// gzip batch bombs from a non-peer and from the peer's address.
const net = require('node:net');
const http = require('node:http');
const { Samples } = require('../load');
const { CONFIG, SLOW_ADDRS, NON_PEER_ADDR, PEER_ADDR } = require('./config');
const { elapsed, random, kind, server } = require('./state');
const { track, timers, every, later } = require('./resources');
const { hostile, hostileAddr, attack } = require('./mixed-stream');

// ---------------------------------------------------------------------------------------------------------------
// Slow-loris connections: headers or body trickled, held until the attack stops, reopened when the server closes them

const slow = { opened: 0, closedByServer: 0, answered: 0, heldToEnd: 0, lifetimesMs: new Samples(), open: new Set() };

function openSlow(i) {
  if (attack.stop) return;
  const bodyMode = i % 2 === 1;
  const stats = kind(bodyMode ? 'slow-loris: body trickled' : 'slow-loris: headers trickled');
  stats.sent++;
  slow.opened++;
  const started = performance.now();
  const socket = track(net.connect({ host: '127.0.0.1', port: server.port, localAddress: SLOW_ADDRS[i % SLOW_ADDRS.length] }));
  const conn = { socket, endedByUs: false, status: /** @type {number | null} */ (null) };
  slow.open.add(conn);
  let k = 0;
  let trickle = null;
  socket.on('connect', () => {
    socket.write(
      bodyMode
        ? `POST /eureka/apps/SOAK-LORIS HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n{"instance":{`
        : `POST /eureka/apps/SOAK-LORIS HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\ncontent-type: application/json\r\n`,
    );
    // Each connection trickles at its own phase.
    trickle = later(random() * CONFIG.slowTrickleMs, () => {
      trickle = every(CONFIG.slowTrickleMs, () => {
        if (!socket.destroyed) socket.write(bodyMode ? ' ' : `x-slow-${k++}: ${k}\r\n`);
      });
    });
  });
  socket.on('data', (chunk) => {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16));
    if (m && conn.status === null) conn.status = Number(m[1]);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    clearInterval(trickle);
    timers.delete(trickle);
    slow.open.delete(conn);
    const lifetime = performance.now() - started;
    if (conn.endedByUs) {
      slow.heldToEnd++;
      stats.record('held to end');
      return;
    }
    slow.lifetimesMs.push(lifetime);
    if (conn.status !== null) {
      slow.answered++;
      stats.record(conn.status, lifetime);
    } else {
      slow.closedByServer++;
      stats.record('reset');
    }
    // The attacker comes back, after one trickle interval: a server that refuses its connections at once (a
    // per-address cap) must not turn 400 slow connections into a connection storm.
    if (!attack.stop) later(CONFIG.slowTrickleMs, () => openSlow(i));
  });
}

function closeSlow() {
  for (const conn of slow.open) {
    conn.endedByUs = true;
    conn.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Oversized bodies: 20 MB registrations streamed with node:http; does the client read a 413 or get a reset?

const oversized = { results: /** @type {{ declared: boolean, outcome: number | string, writtenBytes: number, ms: number }[]} */ ([]), inFlight: /** @type {Set<Promise<void>>} */ (new Set()) };
const FILL = Buffer.alloc(64 * 1024, 'x');

function sendOversized(i) {
  const declared = i % 2 === 0;
  const name = declared ? 'oversized 20 MB (content-length)' : 'oversized 20 MB (chunked)';
  const stats = kind(name);
  stats.sent++;
  const total = CONFIG.oversizedBytes;
  const prefix = Buffer.from('{"instance":{"app":"SOAK-BIG","hostName":"big","ipAddr":"10.66.0.3","dataCenterInfo":{"name":"MyOwn"},"metadata":{"pad":"');
  const suffix = Buffer.from('"}}}');
  const started = performance.now();
  /** @type {Promise<void>} */
  const p = new Promise((resolve) => {
    let settled = false;
    let written = 0;
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (declared) headers['content-length'] = total;
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/eureka/apps/SOAK-BIG', headers, agent: false, localAddress: hostileAddr() });
    req.on('socket', (s) => track(s));
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ms = performance.now() - started;
      stats.record(outcome, ms);
      oversized.results.push({ declared, outcome, writtenBytes: written, ms: Math.round(ms) });
      setImmediate(() => req.destroy());
      resolve();
    };
    const timer = setTimeout(() => finish('timeout'), 30000);
    req.on('response', (res) => {
      res.resume();
      finish(res.statusCode);
    });
    req.on('error', () => finish('reset'));
    const pump = () => {
      if (settled) return;
      if (written === 0) {
        req.write(prefix);
        written += prefix.length;
      }
      const end = total - suffix.length;
      while (written < end && !settled) {
        const chunk = end - written >= FILL.length ? FILL : FILL.subarray(0, end - written);
        written += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!settled) {
        written += suffix.length;
        req.end(suffix);
      }
    };
    pump();
  });
  oversized.inFlight.add(p);
  p.finally(() => oversized.inFlight.delete(p));
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Batch bombs: one at a time, alternately from a non-peer address and from the peer's

const bombs = {
  results: /** @type {{ fromPeer: boolean, outcome: number | string, atSecs: number }[]} */ ([]),
  inFlight: /** @type {Promise<number> | null} */ (null),
  gzipBytes: 0,
  inflatedBytes: 0,
  items: 0,
};

function sendBomb(i, bomb) {
  const fromPeer = i % 2 === 1;
  const name = fromPeer ? 'batch bomb from the peer address' : 'batch bomb from a non-peer';
  const p = hostile(name, {
    method: 'POST',
    // The peer's own spelling (PeerClient posts to peerreplication/batch/) and the route table's.
    path: fromPeer ? '/eureka/peerreplication/batch/' : '/eureka/peerreplication/batch',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'content-encoding': 'gzip' },
    body: bomb.gzip,
    localAddress: fromPeer ? PEER_ADDR : NON_PEER_ADDR,
    timeoutMs: 60000,
  }).then((outcome) => bombs.results.push({ fromPeer, outcome, atSecs: +elapsed().toFixed(1) }));
  bombs.inFlight = p;
  return p.finally(() => (bombs.inFlight = null));
}

module.exports = { slow, openSlow, closeSlow, oversized, sendOversized, bombs, sendBomb };
