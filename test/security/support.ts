// Shared by the security tests: a credentials file in a temp dir, servers started with authentication on, raw
// HTTP(S) requests on fresh connections, Basic headers, and self-signed certificates made with the openssl CLI.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';

/** Passwords and tokens of the test credentials file. */
export const PW = {
  orders: 'orders-secret',
  any: 'any-secret',
  peer: 'peer-secret',
  ops: 'ops-secret',
  hashed: 'hashed-secret',
  token: 'orders-token-0123456789',
  hashedToken: 'admin-token-abcdef',
} as const;

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The credentials document of the tests (every shape the README documents). */
export const CREDENTIALS = {
  users: [
    { name: 'orders-svc', password: PW.orders, roles: ['client'], apps: ['orders', 'JQSERVICE'] },
    { name: 'any-svc', password: PW.any, roles: ['client'] },
    { name: 'peer', password: PW.peer, roles: ['peer'] },
    { name: 'ops', password: PW.ops, roles: ['admin'] },
    { name: 'hashed-svc', passwordSha256: hex(PW.hashed), roles: ['client'], apps: ['BILLING'] },
  ],
  tokens: [
    { token: PW.token, roles: ['client'], apps: ['ORDERS'] },
    { tokenSha256: hex(PW.hashedToken), roles: ['admin'] },
  ],
};

/** `Basic base64(user:password)`. */
export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export const AUTH = {
  orders: basic('orders-svc', PW.orders),
  any: basic('any-svc', PW.any),
  peer: basic('peer', PW.peer),
  ops: basic('ops', PW.ops),
  hashed: basic('hashed-svc', PW.hashed),
  wrong: basic('ops', 'not-the-password'),
  token: `Bearer ${PW.token}`,
  adminToken: `Bearer ${PW.hashedToken}`,
} as const;

/** A temp dir removed by cleanup(). */
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'zone-security-'));

  file(name: string, content: string | object): string {
    const path = join(this.path, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return path;
  }

  cleanup(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Starts a server on 127.0.0.1, a free port, with `flags` (after the test defaults). */
export function start(flags: readonly string[]): Promise<RunningServer> {
  return startServer(loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error', ...flags], {}), { logger: silentLogger });
}

/** Flags turning authentication on with the test credentials written into `dir`. */
export function authFlags(dir: TempDir, extra: readonly string[] = []): string[] {
  return ['--auth-enabled', 'true', '--auth-file', dir.file('credentials.json', CREDENTIALS), ...extra];
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export interface RequestOptions {
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** https: the CA to trust (the test's self-signed certificate). */
  readonly ca?: Buffer;
}

/** One request on a fresh connection to 127.0.0.1:port; https when `ca` is given. */
export function call(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const common = { host: '127.0.0.1', port, method, path, headers, agent: false as const };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    };
    const req = options.ca ? httpsRequest({ ...common, ca: options.ca, servername: 'localhost' }, onResponse) : httpRequest(common, onResponse);
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} on port ${port} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A registration as eureka-js-client sends it (JSON, `instance` wrapper). */
export function instanceBody(app: string, id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    instance: {
      instanceId: id,
      app: app.toUpperCase(),
      hostName: `${id}.test`,
      ipAddr: '127.0.0.1',
      status: 'UP',
      port: { $: 8080, '@enabled': 'true' },
      vipAddress: app.toLowerCase(),
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
      ...extra,
    },
  });
}

/** The registration body a Java DiscoveryClient sends (contract §4.2), from the fixtures. */
export function javaBody(): string {
  return readFileSync(join(__dirname, '..', 'fixtures', 'clients', 'java-legacy.register.json'), 'utf8');
}

/** A self-signed certificate for localhost and 127.0.0.1, made by the openssl CLI into `dir`. */
export function selfSignedCertificate(dir: TempDir, name = 'server'): { certFile: string; keyFile: string; cert: Buffer } {
  const certFile = join(dir.path, `${name}.cert.pem`);
  const keyFile = join(dir.path, `${name}.key.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile) };
}
