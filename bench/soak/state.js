'use strict';
// What every part of the soak shares: the run's clock, log and phase, a deterministic random source, the server's
// facts, and the outcome statistics of each kind of request.
const { Samples } = require('../load');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
const log = (msg) => console.error(`soak [${elapsed().toFixed(0).padStart(3)} s] ${msg}`);

/** Deterministic PRNG (mulberry32), so two runs send the same attack. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20261202);

/** Phase of the run, for latency and memory: register, warmup, attack, drain, recovery, done. */
const run = { phase: 'register' };

// ---------------------------------------------------------------------------------------------------------------
// Statistics: per kind of request, outcomes by status class

class KindStats {
  constructor(name, group) {
    this.name = name;
    this.group = group; // 'good' | 'hostile'
    this.sent = 0;
    /** status class (2xx…5xx) or outcome without a status (reset, timeout, aborted, held). */
    this.classes = {};
    this.statuses = {};
    this.latency = new Samples(1024);
  }
  record(outcome, ms) {
    if (typeof outcome === 'number') {
      const cls = `${Math.floor(outcome / 100)}xx`;
      this.classes[cls] = (this.classes[cls] || 0) + 1;
      this.statuses[outcome] = (this.statuses[outcome] || 0) + 1;
      if (ms !== undefined) this.latency.push(ms);
    } else {
      this.classes[outcome] = (this.classes[outcome] || 0) + 1;
    }
  }
}
/** @type {Map<string, KindStats>} */
const kinds = new Map();
const kind = (name, group = 'hostile') => {
  let k = kinds.get(name);
  if (!k) kinds.set(name, (k = new KindStats(name, group)));
  return k;
};

/** What is known of the server child process: its port, pid, flags, exit, and the head and tail of its output. */
/** @typedef {{ code: number | null, signal: NodeJS.Signals | null, atSecs: number, phase: string }} ServerExit */
const server = { port: 0, pid: 0, args: /** @type {string[]} */ ([]), exited: /** @type {ServerExit | null} */ (null), head: '', tail: '', warnLines: 0, errorLines: 0 };

module.exports = { sleep, t0, elapsed, log, random, run, KindStats, kinds, kind, server };
