// docker-compose.yml against zones.example.json, by rule rather than by content: one service per zone, each
// started with --zone <its zone>, publishing on the host the port its zone's URL uses, and given a config file in
// which it finds itself (by its hostname and port) and every other zone's server as a peer.
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { SETTINGS } from '../../src/config/settings';
import { parseZonesFile, resolvePeers, Topology } from '../../src/config/zones';

const ROOT = join(__dirname, '..', '..');
/** WORKDIR of the image (Dockerfile): relative --config paths are resolved against it. */
const IMAGE_WORKDIR = '/app';
/** Files the Dockerfile copies into the image, by their path in it. */
const IMAGE_FILES: Record<string, string> = { '/app/zones.example.json': 'zones.example.json' };

interface ComposeService {
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | null> | string[];
  ports?: (string | number | { target: number; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  hostname?: string;
  container_name?: string;
  working_dir?: string;
  network_mode?: string;
  healthcheck?: { test?: string | string[] };
}

/** What a service starts its zone server with. */
interface ZoneService {
  readonly name: string;
  readonly service: ComposeService;
  readonly args: string[];
  readonly zone: string | undefined;
  /** Port the server listens on in its container. */
  readonly port: number;
}

const readZones = (file: string): Topology => parseZonesFile(JSON.parse(readFileSync(join(ROOT, file), 'utf8')), file).topology;

const words = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : v.trim().split(/\s+/));

function environment(s: ComposeService): Record<string, string> {
  const env = s.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** The value of `--name value` or `--name=value` in a command line. */
function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

function zoneService(name: string, service: ComposeService): ZoneService {
  const args = [...words(service.entrypoint), ...words(service.command)];
  const env = environment(service);
  const port = Number(flag(args, 'port') ?? env.EUREKA_PORT ?? env.PORT ?? SETTINGS.port.default);
  return { name, service, args, zone: flag(args, 'zone') ?? env.EUREKA_ZONE, port };
}

/** Host port → container port mappings of a service (short and long syntax). */
function publishedPorts(s: ComposeService): { published: number; target: number }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return { published: Number(p.published ?? p.target), target: Number(p.target) };
    // [ip:]host:container[/protocol]; a bare port publishes the same (or a random) host port.
    const parts = String(p).replace(/\/\w+$/, '').split(':');
    const target = Number(parts[parts.length - 1]);
    return { published: parts.length > 1 ? Number(parts[parts.length - 2]) : target, target };
  });
}

/** The host file a path inside a service's container comes from: a bind mount, or a file the image copies. */
function hostFileOf(s: ComposeService, containerPath: string): string | undefined {
  for (const v of s.volumes ?? []) {
    const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    if (source !== undefined && target === containerPath && (source.startsWith('.') || source.startsWith('/'))) return posix.normalize(source);
  }
  return IMAGE_FILES[containerPath];
}

const portOf = (url: string): number => {
  const u = new URL(url);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
};

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services?: Record<string, ComposeService> };
const example = readZones('zones.example.json');
const services = Object.entries(compose.services ?? {})
  .map(([name, s]) => zoneService(name, s))
  // Zone servers are the services started with a zone; anything else (a dashboard, a proxy) is not counted.
  .filter((s) => s.zone !== undefined);

describe('docker-compose.yml', () => {
  describe('zone servers', () => {
    it('runs exactly one service per zone of zones.example.json', () => {
      expect(example.zones.size).toBeGreaterThan(0);
      expect(services.map((s) => s.zone).sort()).toEqual([...example.zones.keys()].sort());
    });

    it('passes each service its zone with --zone on the command line', () => {
      for (const s of services) expect({ service: s.name, zone: flag(s.args, 'zone') }).toEqual({ service: s.name, zone: s.zone });
    });

    it("publishes on the host the port its zone's URL in zones.example.json uses, mapped to the port the server listens on", () => {
      for (const s of services) {
        const urls = example.zones.get(s.zone!) ?? [];
        expect({ service: s.name, urls: urls.length }).toEqual({ service: s.name, urls: 1 });
        const wanted = portOf(urls[0]);
        expect({ service: s.name, ports: publishedPorts(s.service).filter((p) => p.published === wanted) }).toEqual({
          service: s.name,
          ports: [{ published: wanted, target: s.port }],
        });
      }
    });

    it('publishes distinct host ports', () => {
      const published = services.flatMap((s) => publishedPorts(s.service).map((p) => p.published));
      expect(new Set(published).size).toBe(published.length);
    });

    it('gives each service a config file with the same zones and ports, in which it finds itself and every other zone as a peer', () => {
      const total = [...example.zones.values()].flat().length;
      for (const s of services) {
        const configArg = flag(s.args, 'config') ?? environment(s.service).EUREKA_CONFIG;
        expect({ service: s.name, config: configArg !== undefined }).toEqual({ service: s.name, config: true });
        const containerPath = posix.resolve(s.service.working_dir ?? IMAGE_WORKDIR, configArg!);
        const hostFile = hostFileOf(s.service, containerPath);
        expect({ service: s.name, containerPath, hostFile: hostFile !== undefined }).toEqual({ service: s.name, containerPath, hostFile: true });

        const topology = readZones(hostFile!);
        const shape = (t: Topology) => [...t.zones].map(([zone, urls]) => [zone, urls.map(portOf)]).sort();
        expect(topology.region).toBe(example.region);
        expect(shape(topology)).toEqual(shape(example));

        // In its container the server answers to its hostname (service name by default) and the loopback names.
        const names = [s.service.hostname ?? s.name, s.service.container_name ?? s.name, s.name, 'localhost', '127.0.0.1'];
        const peers = resolvePeers(topology, s.zone!, s.port, flag(s.args, 'self-url') ?? '', names);
        expect(peers.self).toBe(topology.zones.get(s.zone!)![0]);
        expect(peers.peers).toHaveLength(total - 1);
        // Peers must be reachable from inside the container: not its own loopback (unless it shares the host's network).
        if (s.service.network_mode !== 'host') for (const url of peers.peers) expect(['localhost', '127.0.0.1', '::1', '[::1]']).not.toContain(new URL(url).hostname);
      }
    });

    it('probes readiness on the port the server listens on, where a healthcheck is declared', () => {
      for (const s of services) {
        const test = words(s.service.healthcheck?.test).join(' ');
        if (!test) continue;
        expect({ service: s.name, probe: /https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/health\/ready/.exec(test)?.[1] }).toEqual({ service: s.name, probe: String(s.port) });
      }
    });
  });
});
