'use strict';
// Top self-time functions of a V8 CPU profile (node --cpu-prof), optionally only over given time windows — the
// watch benchmark profiles its server for the whole run and looks only at the wakes. Windows are in microseconds of
// the monotonic clock (process.hrtime.bigint() / 1000n), the clock V8 stamps its samples with on Linux.
// Standalone: node bench/cpu-profile.js <file.cpuprofile> [count]
const fs = require('node:fs');

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }} Profile
 * @typedef {{ name: string, where: string, selfMs: number, pct: number }} TopEntry
 */

/**
 * @param {string} file
 * @param {{ windows?: [number, number][], count?: number }} [opts]
 * @returns {{ sampledMs: number, samples: number, inWindows: number, top: TopEntry[] }}
 */
function topSelfTime(file, opts = {}) {
  /** @type {Profile} */
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const windows = opts.windows ? [...opts.windows].sort((a, b) => a[0] - b[0]) : null;
  /** @type {Map<string, { name: string, where: string, us: number }>} */
  const self = new Map();
  let t = profile.startTime;
  let totalUs = 0;
  let counted = 0;
  let w = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] || 0;
    t += dt;
    if (windows) {
      while (w < windows.length && windows[w][1] < t) w++;
      if (w >= windows.length || t < windows[w][0]) continue;
    }
    // Each sample stands for the interval since the previous one (~1 ms by default).
    const us = Math.max(0, dt);
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    counted++;
    totalUs += us;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}|${where}`;
    const e = self.get(key) || { name: f.functionName || '(anonymous)', where, us: 0 };
    e.us += us;
    self.set(key, e);
  }
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, opts.count || 15)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: totalUs ? (100 * e.us) / totalUs : NaN }));
  return { sampledMs: totalUs / 1000, samples: profile.samples.length, inWindows: counted, top };
}

module.exports = { topSelfTime };

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/cpu-profile.js <file.cpuprofile> [count]');
    process.exit(2);
  }
  const r = topSelfTime(file, { count: Number(process.argv[3]) || 25 });
  console.log(`${r.samples} samples, ${r.sampledMs.toFixed(0)} ms`);
  for (const e of r.top) console.log(`${e.selfMs.toFixed(1).padStart(9)} ms ${e.pct.toFixed(1).padStart(5)} %  ${e.name}  ${e.where}`);
}
