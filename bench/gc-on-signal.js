'use strict';
// Preloaded (`node --expose-gc -r bench/gc-on-signal.js ...`) into the server whose memory the watch benchmark reads:
// SIGUSR2 runs a full garbage collection, so that heap and RSS readings count what is live rather than garbage a
// collection has not reached yet. Only the benchmark starts servers this way.
process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc();
});
