'use strict';
// The attack window: every attack kind started and spread over it, progress logged, and the drain of what is still
// in flight when it ends.
const { CONFIG, MB } = require('./config');
const { sleep, log, server } = require('./state');
const { every, later } = require('./resources');
const { good } = require('./good-clients');
const { lastRss } = require('./monitors');
const { attack, mixedStream } = require('./mixed-stream');
const { slow, openSlow, closeSlow, oversized, sendOversized, bombs, sendBomb } = require('./connection-attacks');
const { fmtMs } = require('./format');

async function runAttack(bomb) {
  const seconds = CONFIG.attackSeconds;
  const deadline = Date.now() + seconds * 1000;
  // Slow-loris connections open over the first tenth of the attack (at most 10 s).
  const slowSpreadMs = Math.min(10000, (seconds * 1000) / 10);
  for (let i = 0; i < CONFIG.slowConnections; i++) later((i * slowSpreadMs) / CONFIG.slowConnections, () => openSlow(i));
  // Oversized bodies and bombs spread evenly; two oversized at most in flight, one bomb.
  for (let i = 0; i < CONFIG.oversized; i++) {
    later(((i + 0.5) * seconds * 1000) / CONFIG.oversized, async () => {
      while (oversized.inFlight.size >= 2 && !attack.stop) await sleep(100);
      if (!attack.stop) sendOversized(i);
    });
  }
  const bombQueue = [];
  for (let i = 0; i < CONFIG.batchBombs; i++) {
    later(((i + 0.25) * seconds * 1000) / CONFIG.batchBombs, () => bombQueue.push(i));
  }
  const bombLoop = (async () => {
    let sent = 0;
    while (!attack.stop && sent < CONFIG.batchBombs) {
      if (bombQueue.length > 0 && !bombs.inFlight) {
        sendBomb(bombQueue.shift(), bomb);
        sent++;
      }
      await sleep(50);
    }
  })();
  const progress = every(10000, () => {
    const hb = good.heartbeat.attack.percentiles();
    log(`attack: ${attack.mixedSent}/${CONFIG.hostileRequests} mixed sent (${attack.mixedInFlight} in flight), ${slow.open.size} slow connections open, ${oversized.results.length} oversized, ${bombs.results.length} bombs answered; RSS ${(lastRss() / MB).toFixed(0)} MB; good heartbeat p99 ${fmtMs(hb.p99)}; lost ${good.lost.size}`);
  });
  const crashWatch = every(200, () => {
    if (server.exited) attack.stop = true;
  });
  // The mixed stream may run past the attack window by a bounded 20 s to catch up when the server was slow.
  await mixedStream(deadline + 20000);
  while (Date.now() < deadline && !attack.stop) await sleep(100);
  attack.stop = true;
  clearInterval(progress);
  clearInterval(crashWatch);
  await bombLoop;
}

async function drainAttack() {
  closeSlow();
  const waitFor = [...attack.inFlight, ...oversized.inFlight, ...(bombs.inFlight ? [bombs.inFlight] : [])];
  await Promise.race([Promise.allSettled(waitFor), sleep(15000)]);
}

module.exports = { runAttack, drainAttack };
