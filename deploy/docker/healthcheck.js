// The image's HEALTHCHECK: exits 0 when the zone server in this container answers GET /health/ready with 200 (startup
// sync over), 1 otherwise. Slim images have no curl; node is there. The port is the server's: EUREKA_PORT, else PORT,
// else 8761 (a --port flag is not visible here: override the healthcheck then, as docker-compose.yml does). With
// EUREKA_TLS_CERT_FILE it speaks https, without verifying the certificate: it asks its own process on 127.0.0.1.
'use strict';
const tls = Boolean(process.env.EUREKA_TLS_CERT_FILE);
const client = require(tls ? 'node:https' : 'node:http');

const request = client.get(
  { host: '127.0.0.1', port: Number(process.env.EUREKA_PORT || process.env.PORT || 8761), path: '/health/ready', timeout: 2500, rejectUnauthorized: false },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', () => process.exit(1));
