'use strict';
// Peer batches for the benchmark: filling a server with a big fleet through POST /eureka/peerreplication/batch
// (registrations 250 to a request, as a peer sends them — much quicker than one registration each, and it leaves
// the same registry), and the Register and Heartbeat items a peer zone's server sends. Loopback counts as a peer when
// the server's zones file lists its peers on 127.0.0.1 and auth is off.
const http = require('node:http');
const { registrationBody } = require('./instances');

/** Most items in one batch (replicationBatchSize). */
const BATCH_ITEMS = 250;

const INSTANCE_PREFIX = '{"instance":';

/**
 * A Register item as a peer sends it, JSON text: the instance in full, its lastDirtyTimestamp `now`.
 * @param {import('./instances').InstanceRef} ref
 * @param {{ now: number, durationSecs?: number, version?: string }} opts
 */
function registerItem(ref, opts) {
  const body = registrationBody(ref, opts);
  const instance = body.slice(INSTANCE_PREFIX.length, -1);
  return `{"appName":${JSON.stringify(ref.app)},"id":${JSON.stringify(ref.id)},"lastDirtyTimestamp":${opts.now},"overriddenStatus":"UNKNOWN","status":"UP","instanceInfo":${instance},"action":"Register"}`;
}

/**
 * A Heartbeat item as a zone-registry (or Java Eureka) peer sends it, JSON text: no instance, the lastDirtyTimestamp
 * the instance was registered with (a different one is answered 404 or 409).
 * @param {import('./instances').InstanceRef} ref
 * @param {number} lastDirtyTimestamp ms
 */
function heartbeatItem(ref, lastDirtyTimestamp) {
  return `{"appName":${JSON.stringify(ref.app)},"id":${JSON.stringify(ref.id)},"lastDirtyTimestamp":${lastDirtyTimestamp},"overriddenStatus":"UNKNOWN","status":"UP","action":"Heartbeat"}`;
}

/** A ReplicationList body from items already encoded. @param {string[]} items */
const batchBody = (items) => `{"replicationList":[${items.join(',')}]}`;

/** One POST on loopback; resolves with status and body text, never rejects (status 0 on a network error). */
function post(agent, port, urlPath, body) {
  return new Promise((resolve) => {
    const headers = { accept: 'application/json', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: urlPath, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: /** @type {number} */ (res.statusCode), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end(body);
  });
}

/**
 * Registers `refs` on the server at `port` through peer batches of 250, `concurrency` in flight; fails unless every
 * item was answered 200. Returns the registrations' lastDirtyTimestamp (ms) — heartbeat items must carry it — and how
 * long the fill took.
 * @param {number} port
 * @param {import('./instances').InstanceRef[]} refs
 * @param {{ now?: number, durationSecs?: number, concurrency?: number }} [opts] `durationSecs`: the lease asked for (90)
 * @returns {Promise<{ lastDirtyTimestamp: number, fillMs: number }>}
 */
async function fillThroughPeerBatches(port, refs, opts = {}) {
  const now = opts.now ?? Date.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const slice = refs.slice(next, next + BATCH_ITEMS);
      next += BATCH_ITEMS;
      const res = await post(agent, port, '/eureka/peerreplication/batch', batchBody(slice.map((ref) => registerItem(ref, { now, durationSecs: opts.durationSecs }))));
      const refused = res.status === 200 ? JSON.parse(res.body).responseList.filter((r) => r.statusCode !== 200).length : slice.length;
      if (refused) {
        next = refs.length; // the other workers stop too
        throw new Error(`filling 127.0.0.1:${port}: a batch answered ${res.status}, ${refused} of ${slice.length} registrations refused ${res.body.slice(0, 200)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  } finally {
    agent.destroy();
  }
  return { lastDirtyTimestamp: now, fillMs: performance.now() - t0 };
}

module.exports = { BATCH_ITEMS, registerItem, heartbeatItem, batchBody, fillThroughPeerBatches };
