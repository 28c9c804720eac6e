'use strict';
// Telling a stall of a server from one of the machine: the server's own account of its event loop and collections
// (prom-client's default metrics on its /metrics), and the kernel's TCP counters over a measurement.
const fs = require('node:fs');
const { request } = require('../load');

/**
 * The server's event-loop delay since the previous read of its /metrics (the histogram restarts at each read) and how
 * many full collections it made so far; undefined when it does not answer.
 * @param {number} port
 * @returns {Promise<{ p99Ms: number, maxMs: number, majors: number } | undefined>}
 */
async function loopStats(port) {
  const res = await request(port, { method: 'GET', path: '/metrics' });
  if (res.status !== 200) return undefined;
  const text = res.body.toString('utf8');
  const value = (name) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const majors = [...text.matchAll(/^nodejs_gc_duration_seconds_count\{[^}]*kind="major"[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  return { p99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000, maxMs: value('nodejs_eventloop_lag_max_seconds') * 1000, majors };
}

/**
 * The server's own count of requests of one route by how long it took them, from reading the request to writing its
 * answer (its `zone_registry_http_request_duration_seconds` histogram, every status code together): cumulative counts
 * by upper bound, seconds. Read before and after a measurement, `serverP99` of the two says how long the server itself
 * held that measurement's requests.
 * @param {number} port
 * @param {string} method
 * @param {string} route the route's pattern, e.g. `/apps/:app`
 * @returns {Promise<Map<number, number> | undefined>} upper bound (Infinity for +Inf) → requests at or under it
 */
async function requestDurations(port, method, route) {
  const res = await request(port, { method: 'GET', path: '/metrics' });
  if (res.status !== 200) return undefined;
  const counts = new Map();
  const line = /^zone_registry_http_request_duration_seconds_bucket\{([^}]*)\} (\S+)$/gm;
  for (const m of res.body.toString('utf8').matchAll(line)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.method !== method || labels.route !== route) continue;
    const bound = labels.le === '+Inf' ? Infinity : Number(labels.le);
    counts.set(bound, (counts.get(bound) ?? 0) + Number(m[2]));
  }
  return counts;
}

/**
 * The upper bound under which 99 % of the requests counted between two reads of {@link requestDurations} finished
 * (a bucket's bound, so an upper estimate); undefined without requests.
 * @param {Map<number, number>} before
 * @param {Map<number, number>} after
 */
function serverP99(before, after) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  for (const b of bounds) if ((after.get(b) ?? 0) - (before.get(b) ?? 0) >= 0.99 * total) return b;
  return Infinity;
}

/** Counters of /proc/net/snmp and /proc/net/netstat that say the network stack lost or delayed something. */
const TCP_COUNTERS = /** @type {const} */ ({
  retransmitted: 'Tcp:RetransSegs',
  timeouts: 'TcpExt:TCPTimeouts',
  lossProbes: 'TcpExt:TCPLossProbes',
  spurious: 'TcpExt:TCPDSACKRecv',
  listenOverflows: 'TcpExt:ListenOverflows',
  // /proc/net/softnet_stat, summed over the cores: packets dropped because a core's input queue was full, and times
  // the receive softirq ran out of its budget with packets left (the rest then waits for ksoftirqd, a thread scheduled
  // like any other: on a busy core, acknowledgements go out late and senders retransmit what was not lost).
  backlogDrops: 'Softnet:dropped',
  squeezes: 'Softnet:time_squeeze',
});

/**
 * The machine's TCP counters now (every process's, not only the servers'): retransmitted segments, retransmission
 * timeouts, tail-loss probes, duplicate-acknowledged (spurious) retransmissions reported back, listen-queue overflows,
 * and the cores' input-queue drops and softirq budget squeezes. Empty off Linux.
 * @returns {Partial<Record<keyof typeof TCP_COUNTERS, number>>}
 */
function tcpCounters() {
  /** @type {Record<string, number>} */
  const all = {};
  for (const file of ['/proc/net/snmp', '/proc/net/netstat']) {
    let lines;
    try {
      lines = fs.readFileSync(file, 'utf8').split('\n');
    } catch {
      continue;
    }
    // Pairs of lines: "Prefix: name name …" then "Prefix: value value …".
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i].trim().split(/\s+/);
      const values = lines[i + 1].trim().split(/\s+/);
      for (let k = 1; k < names.length; k++) all[`${names[0]}${names[k]}`] = Number(values[k]);
    }
  }
  try {
    // One line per core, hexadecimal columns: processed, dropped, time_squeeze, …
    for (const line of fs.readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n')) {
      const [, dropped, squeezed] = line.trim().split(/\s+/).map((v) => parseInt(v, 16));
      all['Softnet:dropped'] = (all['Softnet:dropped'] ?? 0) + dropped;
      all['Softnet:time_squeeze'] = (all['Softnet:time_squeeze'] ?? 0) + squeezed;
    }
  } catch {
    // not Linux
  }
  /** @type {Partial<Record<keyof typeof TCP_COUNTERS, number>>} */
  const out = {};
  for (const [key, name] of Object.entries(TCP_COUNTERS)) if (Number.isFinite(all[name])) out[/** @type {keyof typeof TCP_COUNTERS} */ (key)] = all[name];
  return out;
}

/** What the TCP counters moved by since `before` (tcpCounters()). */
function tcpSince(before) {
  const now = tcpCounters();
  /** @type {Partial<Record<keyof typeof TCP_COUNTERS, number>>} */
  const out = {};
  for (const key of /** @type {(keyof typeof TCP_COUNTERS)[]} */ (Object.keys(now))) if (before[key] !== undefined) out[key] = /** @type {number} */ (now[key]) - before[key];
  return out;
}

module.exports = { loopStats, requestDurations, serverP99, tcpCounters, tcpSince };
