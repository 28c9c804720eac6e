// The sidecar against a real zone server and a small HTTP service whose health endpoint flips: the registration
// follows UP → DOWN → UP and is removed when the sidecar stops. Plus its command line and the shutdown hooks.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { AddressInfo } from 'node:net';
import { silentClientLogger } from '../../src/client/logger';
import { installShutdownHooks } from '../../src/client/shutdown';
import { Sidecar, startSidecar } from '../../src/client/sidecar';
import { parseSidecarArgs, SIDECAR_USAGE, SidecarUsageError } from '../../src/client/sidecar-cli';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { waitFor } from '../helpers/wait';

/** A service whose /health answers 200 or 503 as told. */
class FlippingService {
  healthy = true;
  checks = 0;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FlippingService> {
    let self: FlippingService | undefined;
    const server = createServer((req, res) => {
      if (req.url === '/health' && self) {
        self.checks++;
        res.writeHead(self.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: self.healthy ? 'UP' : 'DOWN' }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new FlippingService(server, (server.address() as AddressInfo).port);
    return self;
  }

  get healthUrl(): string {
    return `http://127.0.0.1:${this.port}/health`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('sidecar', () => {
  let registry: RunningServer;
  let service: FlippingService;
  let sidecar: Sidecar | undefined;

  beforeEach(async () => {
    registry = await startServer(loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error'], {}), { logger: silentLogger });
    service = await FlippingService.start();
  });

  afterEach(async () => {
    await sidecar?.stop();
    sidecar = undefined;
    await service.close();
    await registry.close();
  });

  const start = (healthUrl = service.healthUrl): Promise<Sidecar> =>
    startSidecar({
      app: 'legacy',
      port: service.port,
      healthUrl,
      servers: [registry.eurekaUrl],
      hostName: 'legacy-1.test',
      ipAddr: '127.0.0.1',
      healthIntervalMs: 100,
      logger: silentClientLogger,
      client: { heartbeatIntervalMs: 100 },
    });

  const record = () => registry.registry.lease('LEGACY', `legacy-1.test:legacy:${service.port}`)?.record.instance;

  it('registers UP, goes DOWN while the health URL fails, UP when it recovers, and deregisters on stop', async () => {
    sidecar = await start();
    expect(record()).toMatchObject({ app: 'LEGACY', status: 'UP', hostName: 'legacy-1.test', port: { port: service.port, enabled: true }, healthCheckUrl: service.healthUrl, vipAddress: 'legacy' });
    expect(sidecar.healthy).toBe(true);
    service.healthy = false;
    await waitFor(() => record()?.status === 'DOWN', 'the registration to go DOWN');
    expect(sidecar.healthy).toBe(false);
    // Heartbeats go on while DOWN: the registration stays.
    const beats = sidecar.client.stats.heartbeats;
    await waitFor(() => sidecar!.client.stats.heartbeats >= beats + 2, 'heartbeats while DOWN');
    expect(record()?.status).toBe('DOWN');
    service.healthy = true;
    await waitFor(() => record()?.status === 'UP', 'the registration to come back UP');
    await sidecar.stop();
    expect(record()).toBeUndefined();
    // No more health checks after stop.
    const checks = service.checks;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(service.checks).toBe(checks);
  });

  it('registers STARTING while the app has never been healthy, DOWN only after it was', async () => {
    service.healthy = false;
    sidecar = await start();
    expect(record()?.status).toBe('STARTING');
    service.healthy = true;
    await waitFor(() => record()?.status === 'UP', 'UP once healthy');
    await service.close(); // the app dies: connection refused
    await waitFor(() => record()?.status === 'DOWN', 'DOWN when the app stops answering');
    service = await FlippingService.start(); // for afterEach
  });
});

describe('sidecar command line', () => {
  it('parses flags into sidecar options', () => {
    const { options, logLevel } = parseSidecarArgs([
      '--app', 'legacy', '--port', '8080', '--health-url', 'http://127.0.0.1:8080/health',
      '--server', 'http://a:8761/eureka/', '--server=http://b:8761/eureka/',
      '--host-name', 'h1', '--ip-addr', '10.0.0.9', '--vip-address', 'legacy.vip', '--health-interval-ms', '2000',
      '--metadata', 'team=core', '--metadata', 'weight=2', '--log-level', 'debug',
    ]);
    expect(options).toMatchObject({
      app: 'legacy', port: 8080, healthUrl: 'http://127.0.0.1:8080/health', servers: ['http://a:8761/eureka/', 'http://b:8761/eureka/'],
      hostName: 'h1', ipAddr: '10.0.0.9', vipAddress: 'legacy.vip', healthIntervalMs: 2000, metadata: { team: 'core', weight: '2' }, keepProcessAlive: true,
    });
    expect(logLevel).toBe('debug');
    const zones = parseSidecarArgs(['--app', 'x', '--port', '1', '--health-url', 'http://h/health', '--config', 'zones.json', '--zone', 'us-east-1b']);
    expect(zones.options).toMatchObject({ servers: 'zones.json', zone: 'us-east-1b' });
  });

  it.each([
    [['--port', '1', '--health-url', 'http://h/', '--server', 'http://s/'], /--app is required/],
    [['--app', 'x', '--port', 'eighty', '--health-url', 'http://h/', '--server', 'http://s/'], /--port must be a whole number/],
    [['--app', 'x', '--port', '1', '--health-url', 'h/health', '--server', 'http://s/'], /--health-url must be an http/],
    [['--app', 'x', '--port', '1', '--health-url', 'http://h/'], /Give the Eureka servers/],
    [['--app', 'x', '--port', '1', '--health-url', 'http://h/', '--server', 'http://s/', '--config', 'z.json'], /either --server or --config/],
    [['--app', 'x', '--port', '1', '--health-url', 'http://h/', '--server', 'http://s/', '--colour', 'red'], /Unknown flag --colour/],
    [['--app', 'x', '--app', 'y'], /given twice/],
    [['--app'], /needs a value/],
    [['--app', 'x', '--port', '1', '--health-url', 'http://h/', '--server', 'http://s/', '--metadata', 'novalue'], /key=value/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseSidecarArgs(argv)).toThrow(message);
  });

  it('--help gives the usage', () => {
    expect(() => parseSidecarArgs(['--help'])).toThrow(new SidecarUsageError(SIDECAR_USAGE));
  });
});

describe('installShutdownHooks', () => {
  it('stops the client on SIGTERM, once, and leaves the exit to the application when it listens too', async () => {
    const stop = jest.fn(() => Promise.resolve());
    const appListener = jest.fn();
    process.on('SIGTERM', appListener); // so the hook does not re-raise the signal (which would end jest)
    const stopped = new Promise<string>((resolve) => {
      const uninstall = installShutdownHooks({ stop }, { onStopped: (signal) => resolve(signal) });
      void uninstall;
    });
    try {
      process.emit('SIGTERM');
      process.emit('SIGTERM');
      expect(await stopped).toBe('SIGTERM');
      expect(stop).toHaveBeenCalledTimes(1);
      // The hook removed itself; the application's listener is still there.
      expect(process.listeners('SIGTERM')).toEqual([appListener]);
    } finally {
      process.removeListener('SIGTERM', appListener);
    }
  });

  it('returns an uninstaller and gives up waiting after timeoutMs', async () => {
    const before = process.listenerCount('SIGINT');
    const uninstall = installShutdownHooks({ stop: () => new Promise<void>(() => undefined) }, { signals: ['SIGINT'], timeoutMs: 50 });
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    uninstall();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('in a process with no other listener: deregisters, then the process ends by the signal', async () => {
    // shutdown.ts has no imports: transpile it and run it in a child process that signals itself.
    const dir = mkdtempSync(join(tmpdir(), 'shutdown-hook-'));
    try {
      const source = readFileSync(join(__dirname, '../../src/client/shutdown.ts'), 'utf8');
      writeFileSync(join(dir, 'shutdown.js'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText);
      writeFileSync(
        join(dir, 'main.js'),
        `const { installShutdownHooks } = require('./shutdown.js');
         setInterval(() => {}, 1000); // something that keeps the process alive
         installShutdownHooks({ stop: () => new Promise((r) => setTimeout(() => { console.log('deregistered'); r(); }, 50)) });
         console.log('ready');`,
      );
      const child = spawn(process.execPath, [join(dir, 'main.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready') && !out.includes('sent')) {
          out += 'sent\n';
          child.kill('SIGTERM');
        }
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the child did not exit')), 5000);
        child.on('exit', (c, s) => {
          clearTimeout(timer);
          resolve([c, s]);
        });
      });
      expect(out).toContain('deregistered');
      expect(signal).toBe('SIGTERM');
      expect(code).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
