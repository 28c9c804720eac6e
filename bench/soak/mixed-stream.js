'use strict';
// The mixed hostile stream over raw sockets: each attack kind (self-preservation trap, VIP bomb, forged replication
// and overrides, parser bombs, malformed requests, aborted bodies, churn) builds its requests; a deterministic deck
// sends them at a fixed rate with bounded concurrency.
const net = require('node:net');
const zlib = require('node:zlib');
const { registrationBody } = require('../instances');
const { CONFIG, HOSTILE_ADDRS, NON_PEER_ADDR } = require('./config');
const { sleep, random, kind, server } = require('./state');
const { track } = require('./resources');
const { good } = require('./good-clients');

// ---------------------------------------------------------------------------------------------------------------
// Hostile requests over raw sockets (paths, headers and bodies no well-behaved client would send)

const hostileAddr = (() => {
  let i = 0;
  return () => HOSTILE_ADDRS[i++ % HOSTILE_ADDRS.length];
})();

/**
 * A hostile request: `abortAfter` writes only that many bytes, then closes the connection; `contentLength` declares
 * a length other than the body's.
 * @typedef {{ method: string, path: string, headers?: Record<string,string>, body?: string | Buffer, localAddress: string,
 *   timeoutMs?: number, abortAfter?: number, contentLength?: number }} RawSpec
 */

/**
 * Sends one request on a new connection from `localAddress` and resolves with the status of the first response line
 * (or reset / timeout / aborted / garbage).
 * @param {RawSpec} spec
 * @returns {Promise<{ outcome: number | string, ms: number }>}
 */
function rawRequest(spec) {
  const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(spec.headers || {})) head += `${k}: ${v}\r\n`;
  const length = spec.contentLength ?? (body ? body.length : undefined);
  if (length !== undefined) head += `content-length: ${length}\r\n`;
  const bytes = body ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]) : Buffer.from(head + '\r\n', 'latin1');
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    let response = '';
    const socket = track(net.connect({ host: '127.0.0.1', port: server.port, localAddress: spec.localAddress }));
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), spec.timeoutMs ?? 15000);
    socket.on('connect', () => {
      if (spec.abortAfter === undefined) return socket.write(bytes);
      socket.write(bytes.subarray(0, Math.min(bytes.length, spec.abortAfter)));
      setTimeout(() => finish('aborted'), 20);
    });
    socket.on('data', (chunk) => {
      response += chunk.toString('latin1', 0, Math.min(chunk.length, 64));
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      if (m) finish(Number(m[1]));
      else if (response.length >= 12) finish('garbage');
    });
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('reset'));
  });
}

async function hostile(name, spec) {
  const stats = kind(name);
  stats.sent++;
  const { outcome, ms } = await rawRequest(spec);
  stats.record(outcome, ms);
  return outcome;
}

// Bodies built once.
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const XML_HEADERS = { 'content-type': 'application/xml', accept: 'application/xml' };
const LIMIT = 64 * 1024 - 512; // under the default maxBodyBytes, so the parsers see them

function instanceDoc(app, id, extra = {}) {
  const ref = { app, appLower: app.toLowerCase(), id, hostName: `${id.replace(/[^a-z0-9-]/gi, '-')}.hostile.internal`, ipAddr: '10.66.0.1', index: 0 };
  const doc = JSON.parse(registrationBody(ref, { durationSecs: CONFIG.leaseSecs }));
  Object.assign(doc.instance, extra);
  return doc;
}

const XML_INSTANCE_INNER = (app, id) =>
  `<instanceId>${id}</instanceId><hostName>${id}.hostile.internal</hostName><app>${app}</app><ipAddr>10.66.0.2</ipAddr>` +
  `<status>UP</status><port enabled="true">8080</port><dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>` +
  `<leaseInfo><renewalIntervalInSecs>30</renewalIntervalInSecs><durationInSecs>${CONFIG.leaseSecs}</durationInSecs></leaseInfo><vipAddress>${app.toLowerCase()}</vipAddress>`;

const BODIES = (() => {
  const fill = (unit, budget) => unit.repeat(Math.floor(budget / unit.length));
  const attrs = [];
  for (let i = 0, len = 0; len < LIMIT - 2000; i++) {
    const a = ` a${i}="x"`;
    attrs.push(a);
    len += a.length;
  }
  const xmlAttrs = `<instance${attrs.join('')}>${XML_INSTANCE_INNER('SOAK-XML', 'xml-attrs')}</instance>`;
  const metadata = `<metadata>${fill('<k>v</k>', 8000)}</metadata>`;
  const inner = XML_INSTANCE_INNER('SOAK-XML', 'xml-elements');
  const xmlElements = `<instance>${inner}${metadata}${fill('<e>x</e>', LIMIT - 100 - inner.length - metadata.length)}</instance>`;
  const depth = Math.floor((LIMIT - 2000) / 7);
  const xmlDeep = `<instance>${XML_INSTANCE_INNER('SOAK-XML', 'xml-deep')}${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</instance>`;
  const lol = `<!DOCTYPE instance [<!ENTITY a "${'a'.repeat(64)}">` + Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i === 0 ? 'a' : 'b'.repeat(i)};`.repeat(10)}">`).join('') + ']>';
  const xmlEntities = `${lol}<instance>${XML_INSTANCE_INNER('SOAK-XML', 'xml-entities')}<metadata><k>&bbbbbbbbb;</k></metadata></instance>`;
  const jsonDeepArrays = `{"instance":${'['.repeat(LIMIT / 2 - 20)}${']'.repeat(LIMIT / 2 - 20)}}`;
  const nest = Math.floor((LIMIT - 100) / 8);
  const jsonDeepObjects = `{"instance":{"app":"SOAK-JSON","metadata":${'{"a":'.repeat(nest)}1${'}'.repeat(nest)}}}`;
  const base = instanceDoc('SOAK-JSON', 'json-array');
  const jsonArrayField = JSON.stringify({ instance: { ...base.instance, metadata: { list: 'x' }, extra: new Array(Math.floor((LIMIT - 2000) / 2)).fill(0) } });
  const jsonTopArray = `[${new Array(Math.floor(LIMIT / 3)).fill('{}').join(',')}]`;
  const jsonMetadata = JSON.stringify({ instance: { ...base.instance, metadata: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 'v'])) } });
  const regBody = JSON.stringify(instanceDoc('SOAK-ABORT', 'abort-0'));
  return { xmlAttrs, xmlElements, xmlDeep, xmlEntities, jsonDeepArrays, jsonDeepObjects, jsonArrayField, jsonTopArray, jsonMetadata: jsonMetadata.length <= LIMIT ? jsonMetadata : jsonMetadata.slice(0, LIMIT), regBody };
})();

/** ~16 KB of gzip that inflates to ~16 MB of `{"replicationList":[{},{},…]}`: just under 256 × the default body limit. */
function batchBomb() {
  const inflated = 16_000_000;
  const prefix = '{"replicationList":[';
  const items = Math.floor((inflated - prefix.length - 2) / 3);
  const text = prefix + '{},'.repeat(items - 1) + '{}]}';
  return { gzip: zlib.gzipSync(Buffer.from(text, 'latin1'), { level: 9 }), inflatedBytes: text.length, items };
}

// Names for the VIP bomb: 64 distinct 3-character names per registration (64 × 4 − 1 = 255 characters).
const VIP_NAMES_PER_REG = 64;
let vipNext = 0;
const vipName = (n) => `v${n.toString(36).padStart(3, '0')}`.slice(-3);
const registeredVips = [];

let seq = 0;
const churnIds = [];
/** Trap registrations: how many were sent, and when each was sent (ms since the epoch). */
const traps = { count: 0, registeredAt: /** @type {number[]} */ ([]) };
/** The mixed stream: each kind builds one request; weights are per 100 requests. */
/** @type {[string, number, () => RawSpec][]} */
const MIXED = [
  ['trap: renewalIntervalInSecs 1, never heartbeats', 3, () => {
    const id = `trap-${traps.count++}`;
    const doc = instanceDoc('SOAK-TRAP', id, { leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: CONFIG.trapLeaseSecs } });
    traps.registeredAt.push(Date.now());
    return { method: 'POST', path: '/eureka/apps/SOAK-TRAP', headers: JSON_HEADERS, body: JSON.stringify(doc), localAddress: hostileAddr() };
  }],
  ['VIP bomb: register 64 VIPs', 2, () => {
    const names = Array.from({ length: VIP_NAMES_PER_REG }, () => vipName(vipNext++));
    registeredVips.push(...names);
    const doc = instanceDoc('SOAK-VIP', `vip-${seq++}`, { vipAddress: names.join(','), secureVipAddress: names.join(',') });
    return { method: 'POST', path: '/eureka/apps/SOAK-VIP', headers: JSON_HEADERS, body: JSON.stringify(doc), localAddress: hostileAddr() };
  }],
  ['VIP bomb: GET distinct /vips/{name}', 15, () => {
    // Mostly names that exist (each its own cached document), some that never did.
    const name = registeredVips.length > 0 && random() < 0.8 ? registeredVips[Math.floor(random() * registeredVips.length)] : `nx${(seq++).toString(36)}`;
    const accept = random() < 0.5 ? 'application/json' : 'application/xml';
    return { method: 'GET', path: `/eureka/${random() < 0.8 ? 'vips' : 'svips'}/${name}`, headers: { accept, 'accept-encoding': random() < 0.5 ? 'gzip' : 'identity' }, localAddress: hostileAddr() };
  }],
  // The reported status stays the good one's: with auth off a stranger may re-register any instance with another
  // status (as it may cancel it), a plain Eureka operation no server can tell from the real client's. What must not
  // stick is the override the forged peer header and the body's overriddenStatus ask for.
  ['forged replicated register (good id, overriddenStatus OUT_OF_SERVICE)', 3, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    const doc = JSON.parse(ref.body);
    Object.assign(doc.instance, { overriddenStatus: 'OUT_OF_SERVICE', lastDirtyTimestamp: String(Date.now() + 3600e3) });
    return { method: 'POST', path: `/eureka/apps/${ref.app}`, headers: { ...JSON_HEADERS, 'x-netflix-discovery-replication': 'true' }, body: JSON.stringify(doc), localAddress: NON_PEER_ADDR };
  }],
  ['forged replicated heartbeat (good id, overriddenstatus)', 4, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    return {
      method: 'PUT',
      path: `/eureka/apps/${ref.app}/${ref.id}?status=OUT_OF_SERVICE&overriddenstatus=OUT_OF_SERVICE&lastDirtyTimestamp=${Date.now() + 3600e3}`,
      headers: { accept: 'application/json', 'x-netflix-discovery-replication': 'true' },
      localAddress: NON_PEER_ADDR,
    };
  }],
  ['heartbeat ?overriddenstatus=OUT_OF_SERVICE (good id)', 4, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    return { method: 'PUT', path: `/eureka/apps/${ref.app}/${ref.id}?status=UP&overriddenstatus=OUT_OF_SERVICE&lastDirtyTimestamp=${ref.dirty}`, headers: { accept: 'application/json' }, localAddress: NON_PEER_ADDR };
  }],
  ['register good id with overriddenStatus OUT_OF_SERVICE', 3, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    const doc = JSON.parse(ref.body);
    doc.instance.overriddenStatus = 'OUT_OF_SERVICE';
    return { method: 'POST', path: `/eureka/apps/${ref.app}`, headers: JSON_HEADERS, body: JSON.stringify(doc), localAddress: NON_PEER_ADDR };
  }],
  ['XML: thousands of attributes', 3, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlAttrs, localAddress: hostileAddr() })],
  ['XML: thousands of elements', 3, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlElements, localAddress: hostileAddr() })],
  ['XML: deep nesting', 3, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlDeep, localAddress: hostileAddr() })],
  ['XML: entity expansion', 2, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlEntities, localAddress: hostileAddr() })],
  ['JSON: deep nesting', 4, () => ({ method: 'POST', path: '/eureka/apps/SOAK-JSON', headers: JSON_HEADERS, body: random() < 0.5 ? BODIES.jsonDeepArrays : BODIES.jsonDeepObjects, localAddress: hostileAddr() })],
  ['JSON: huge arrays / maps', 4, () => {
    const r = random();
    const body = r < 0.34 ? BODIES.jsonArrayField : r < 0.67 ? BODIES.jsonTopArray : BODIES.jsonMetadata;
    const target = r < 0.67 && random() < 0.3 ? '/eureka/peerreplication/batch' : '/eureka/apps/SOAK-JSON';
    return { method: 'POST', path: target, headers: JSON_HEADERS, body, localAddress: target.includes('batch') ? NON_PEER_ADDR : hostileAddr() };
  }],
  ['malformed gzip', 5, () => {
    const valid = zlib.gzipSync(BODIES.regBody);
    const r = random();
    const body = r < 0.33 ? Buffer.from('this is not gzip at all') : r < 0.66 ? valid.subarray(0, valid.length >> 1) : Buffer.concat([valid.subarray(0, 10), Buffer.alloc(200, 0xff)]);
    return { method: 'POST', path: random() < 0.8 ? '/eureka/apps/SOAK-ABORT' : '/eureka/peerreplication/batch', headers: { ...JSON_HEADERS, 'content-encoding': random() < 0.9 ? 'gzip' : 'br, gzip, deflate' }, body, localAddress: hostileAddr() };
  }],
  ['wrong content type', 5, () => {
    const types = ['text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'image/png', '', 'application/xml'];
    const type = types[Math.floor(random() * types.length)];
    const headers = { accept: 'application/json' };
    if (type) headers['content-type'] = type;
    return { method: 'POST', path: '/eureka/apps/SOAK-ABORT', headers, body: type === 'application/xml' ? BODIES.regBody : random() < 0.5 ? BODIES.regBody : Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), localAddress: hostileAddr() };
  }],
  ['garbage path / method', 12, () => {
    const paths = [
      '/eureka/apps/%',
      '/eureka/apps/%E0%A4%A',
      '/eureka//apps///x//',
      `/eureka/apps/${'A'.repeat(4000)}`,
      `/eureka/apps/X/${'i'.repeat(300)}`,
      '/eureka/../../etc/passwd',
      '/eureka/apps/a/b/c/d/e/f/g',
      '/eureka/%00/apps',
      `/eureka/vips/${'v'.repeat(300)}`,
      '/eureka/apps/__proto__',
      '/eureka/apps/constructor/prototype',
      '/eureka/instances/%2e%2e%2f',
      `/eureka/${'x/'.repeat(1000)}`,
      '/eureka/apps/SOAK-GOOD-00/%ZZ/status?value=UP',
      '*',
      'http://evil.example/eureka/apps',
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'GET'];
    return { method: methods[Math.floor(random() * methods.length)], path: paths[Math.floor(random() * paths.length)], headers: { accept: 'application/json' }, localAddress: hostileAddr() };
  }],
  ['bad query parameters', 8, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    const many = Array.from({ length: 2000 }, (_, i) => `p${i}=${i}`).join('&');
    const queries = [
      [`PUT`, `/eureka/apps/${ref.app}/${ref.id}?lastDirtyTimestamp=abc`],
      [`PUT`, `/eureka/apps/${ref.app}/${ref.id}?lastDirtyTimestamp=1e400`],
      [`PUT`, `/eureka/apps/${ref.app}/${ref.id}/status?value=BOGUS&lastDirtyTimestamp=1`],
      [`DELETE`, `/eureka/apps/${ref.app}/${ref.id}/status?value=%ZZ`],
      [`PUT`, `/eureka/apps/SOAK-CHURN/nobody/metadata?${many}`],
      [`GET`, `/eureka/apps?${many}`],
      [`GET`, `/eureka/apps/delta?regions=${'r,'.repeat(2000)}`],
      [`PUT`, `/eureka/apps/SOAK-CHURN/nobody?status=UP&status=DOWN&lastDirtyTimestamp=-1&lastDirtyTimestamp=%`],
      [`PUT`, `/eureka/apps/SOAK-CHURN/nobody?${'%'.repeat(500)}`],
    ];
    const [method, p] = queries[Math.floor(random() * queries.length)];
    return { method, path: p, headers: { accept: 'application/json' }, localAddress: hostileAddr() };
  }],
  ['client aborts mid-body', 5, () => ({
    method: 'POST',
    path: '/eureka/apps/SOAK-ABORT',
    headers: JSON_HEADERS,
    body: BODIES.regBody,
    contentLength: BODIES.regBody.length + 4000,
    abortAfter: 300 + Math.floor(random() * 600),
    localAddress: hostileAddr(),
  })],
  ['churn: register throwaway', 7, () => {
    const id = `churn-${seq++}`;
    churnIds.push(id);
    return { method: 'POST', path: '/eureka/apps/SOAK-CHURN', headers: JSON_HEADERS, body: JSON.stringify(instanceDoc('SOAK-CHURN', id)), localAddress: hostileAddr() };
  }],
  ['churn: cancel throwaway', 7, () => ({ method: 'DELETE', path: `/eureka/apps/SOAK-CHURN/${churnIds.shift() ?? 'never-registered'}`, localAddress: hostileAddr() })],
];

/** The mixed stream in a fixed shuffled order (deterministic), cycled. */
function mixedDeck() {
  const deck = [];
  for (const [name, weight, build] of MIXED) for (let i = 0; i < weight; i++) deck.push({ name, build });
  for (let i = deck.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deck[i], deck[j]] = [deck[j], deck[i]];
  }
  return deck;
}

const attack = { stop: false, mixedSent: 0, mixedInFlight: 0, maxMixedInFlight: 0, inFlight: /** @type {Set<Promise<number | string>>} */ (new Set()) };

/** The mixed stream at a fixed rate, at most `hostileConcurrency` in flight; late requests catch up while time is left. */
async function mixedStream(deadlineMs) {
  const deck = mixedDeck();
  const total = CONFIG.hostileRequests;
  const start = Date.now();
  const intervalMs = (CONFIG.attackSeconds * 1000) / Math.max(1, total);
  while (!attack.stop && attack.mixedSent < total && Date.now() < deadlineMs) {
    const due = Math.min(total, Math.floor((Date.now() - start) / intervalMs) + 1);
    while (attack.mixedSent < due && attack.mixedInFlight < CONFIG.hostileConcurrency && !attack.stop) {
      const { name, build } = deck[attack.mixedSent % deck.length];
      attack.mixedSent++;
      attack.mixedInFlight++;
      attack.maxMixedInFlight = Math.max(attack.maxMixedInFlight, attack.mixedInFlight);
      const p = hostile(name, build()).finally(() => {
        attack.mixedInFlight--;
        attack.inFlight.delete(p);
      });
      attack.inFlight.add(p);
    }
    await sleep(5);
  }
}

module.exports = { hostileAddr, hostile, batchBomb, traps, attack, mixedStream };
