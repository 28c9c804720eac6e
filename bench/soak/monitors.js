'use strict';
// Monitors of the server: resident memory every second, V8 heap and self-preservation every two, and its /metrics
// at the end.
const { memory } = require('../load');
const { MB } = require('./config');
const { elapsed, log, run, kind, server } = require('./state');
const { goodRequest } = require('./good-clients');

const rss = {
  timeline: /** @type {{ t: number, phase: string, rssMB: number }[]} */ ([]),
  baseline: NaN,
  peak: 0,
  peakAtSecs: 0,
  recoveredAfterSecs: /** @type {number | null} */ (null),
  final: NaN,
  samplerFailures: 0,
};
const selfPreservation = { timeline: /** @type {Record<string, any>[]} */ ([]), everActive: false, firstActiveAtSecs: /** @type {number | null} */ (null) };

/** Samples the server's resident memory: bytes, NaN when unreadable, undefined once the server exited. */
function sampleRss() {
  if (server.exited) return;
  try {
    const { rss: bytes } = memory(server.pid);
    rss.timeline.push({ t: +elapsed().toFixed(1), phase: run.phase, rssMB: +(bytes / MB).toFixed(1) });
    if ((run.phase === 'attack' || run.phase === 'drain' || run.phase === 'recovery') && bytes > rss.peak) {
      rss.peak = bytes;
      rss.peakAtSecs = +elapsed().toFixed(1);
    }
    return bytes;
  } catch {
    rss.samplerFailures++;
    return NaN;
  }
}
const lastRss = () => (rss.timeline.length ? rss.timeline[rss.timeline.length - 1].rssMB * MB : NaN);

/** What the server's V8 heap holds (used) and reserves (total), and its external memory, from its /metrics. */
const heap = { timeline: /** @type {{ t: number, phase: string, usedMB: number, totalMB: number, externalMB: number }[]} */ ([]) };

async function sampleHeap() {
  const res = await goodRequest('GET', '/metrics', undefined, 10000, null);
  if (res.status !== 200) return;
  const text = /** @type {Buffer} */ (res.body).toString('utf8');
  const value = (name) => Number((new RegExp(`^${name} (\\S+)$`, 'm').exec(text) || [])[1]) / MB;
  heap.timeline.push({ t: +elapsed().toFixed(1), phase: run.phase, usedMB: +value('nodejs_heap_size_used_bytes').toFixed(1), totalMB: +value('nodejs_heap_size_total_bytes').toFixed(1), externalMB: +value('nodejs_external_memory_bytes').toFixed(1) });
}

/** Heap figures of one phase: the mean of the last samples before it ended, and the peak. */
function heapOf(phases, last = 3) {
  const samples = heap.timeline.filter((h) => phases.includes(h.phase));
  if (samples.length === 0) return null;
  const tail = samples.slice(-last);
  const mean = (k) => +(tail.reduce((a, h) => a + h[k], 0) / tail.length).toFixed(1);
  return { usedMB: mean('usedMB'), totalMB: mean('totalMB'), externalMB: mean('externalMB'), peakUsedMB: Math.max(...samples.map((h) => h.usedMB)), peakTotalMB: Math.max(...samples.map((h) => h.totalMB)) };
}

async function sampleStatus() {
  const res = await goodRequest('GET', '/eureka/status', undefined, 10000, kind('good status poll', 'good'));
  if (res.status !== 200) return;
  try {
    const doc = JSON.parse(/** @type {Buffer} */ (res.body).toString('utf8'));
    const sp = doc.selfPreservation || {};
    selfPreservation.timeline.push({
      t: +elapsed().toFixed(1),
      phase: run.phase,
      active: sp.active,
      cause: sp.cause,
      expectedRenewalsPerMin: sp.expectedRenewalsPerMin,
      renewalsLastMin: sp.renewalsLastMin,
      instances: doc.registry ? doc.registry.instances : undefined,
      leaseExpirationEnabled: doc.leaseExpirationEnabled,
    });
    // The start-up window (expiry waits one renewal window after opening) is not the trap's doing.
    if (sp.active && sp.cause !== 'startup-window' && !selfPreservation.everActive) {
      selfPreservation.everActive = true;
      selfPreservation.firstActiveAtSecs = +elapsed().toFixed(1);
      log(`self-preservation engaged (${sp.reason || sp.cause})`);
    }
  } catch {
    /* an unreadable status is not a soak figure */
  }
}

/** Reads /metrics: request counts with a 5xx code by method and route, evictions, status overrides by origin. */
async function scrapeMetrics() {
  const res = await goodRequest('GET', '/metrics', undefined, 10000, null);
  if (res.status !== 200) return null;
  const out = { server5xx: 0, server5xxByRoute: /** @type {Record<string, number>} */ ({}), evictions: 0, statusOverrides: /** @type {Record<string, number>} */ ({}) };
  for (const line of /** @type {Buffer} */ (res.body).toString('utf8').split('\n')) {
    let m = /^zone_registry_http_request_duration_seconds_count\{(.*)\} (\S+)$/.exec(line);
    if (m) {
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (/^5/.test(labels.code || '') && Number(m[2]) > 0) {
        out.server5xx += Number(m[2]);
        const key = `${labels.method} ${labels.route} ${labels.code}`;
        out.server5xxByRoute[key] = (out.server5xxByRoute[key] || 0) + Number(m[2]);
      }
      continue;
    }
    if ((m = /^zone_registry_evictions_total (\S+)$/.exec(line))) out.evictions = Number(m[1]);
    else if ((m = /^zone_registry_status_overrides_total\{(.*)\} (\S+)$/.exec(line))) out.statusOverrides[m[1]] = Number(m[2]);
  }
  return out;
}

module.exports = { rss, selfPreservation, sampleRss, lastRss, heap, sampleHeap, heapOf, sampleStatus, scrapeMetrics };
