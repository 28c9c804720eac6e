'use strict';
// Sockets and timers the soak opens, tracked so that everything is closed however the run ends.
const net = require('node:net');

/** @type {Set<net.Socket>} */
const sockets = new Set();
const track = (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  return socket;
};
const timers = new Set();
const every = (ms, fn) => {
  const h = setInterval(fn, ms);
  timers.add(h);
  return h;
};
const later = (ms, fn) => {
  const h = setTimeout(() => {
    timers.delete(h);
    fn();
  }, ms);
  timers.add(h);
  return h;
};
const clearTimers = () => {
  for (const h of timers) clearInterval(h); // clearInterval clears timeouts too
  timers.clear();
};

module.exports = { sockets, track, timers, every, later, clearTimers };
