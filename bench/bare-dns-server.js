'use strict';
// The DNS baseline: a bare node:dgram server that answers every datagram with one fixed, precomputed answer (the bytes
// our server sent for the benchmarked query, captured by bench/dns.js), only the query's id written into a copy. Run
// on the same Node, pinned to the same core, it measures what Node's UDP path alone costs for that answer, so
// ours/bare tells how much reading the query and looking the name up add on top.
//
// Usage: node bench/bare-dns-server.js <http-port> <answer-hex>
//   Listens for DNS on a free UDP port of 127.0.0.1; GET on <http-port> answers {"dnsPort": N} (readiness and where).
const dgram = require('node:dgram');
const http = require('node:http');

const [httpPort, hex] = [Number(process.argv[2]), process.argv[3]];
if (!httpPort || !hex) {
  console.error('usage: node bench/bare-dns-server.js <http-port> <answer-hex>');
  process.exit(2);
}
const answer = Buffer.from(hex, 'hex');

const socket = dgram.createSocket('udp4');
socket.on('message', (query, from) => {
  if (query.length < 2) return;
  const out = Buffer.allocUnsafe(answer.length);
  answer.copy(out);
  out[0] = query[0];
  out[1] = query[1];
  socket.send(out, from.port, from.address);
});
socket.bind(0, '127.0.0.1', () => {
  const body = JSON.stringify({ dnsPort: socket.address().port });
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    })
    .listen(httpPort, '127.0.0.1');
});
