// The zones file: a region, its zones with their servers' URLs, and settings shared by every server of the region.
// zones.example.json is one; a server's own zone comes from the `zone` setting.
import { ConfigError } from './settings';

/** The region's layout as the zones file describes it. */
export interface Topology {
  readonly region: string | undefined;
  /** Zone name → base URLs of its servers (e.g. http://host:8761/eureka/), in file order. */
  readonly zones: ReadonlyMap<string, readonly string[]>;
}

/** Validates the file's shape; returns the topology and the raw settings block. */
export function parseZonesFile(json: unknown, file: string): { topology: Topology; settings: Record<string, unknown> } {
  const fail = (what: string): never => {
    throw new ConfigError(`Invalid config file ${file}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('expected a JSON object');
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!['region', 'zones', 'settings', '$comment'].includes(key)) fail(`unknown key "${key}" (expected region, zones, settings)`);
  if (obj.region !== undefined && (typeof obj.region !== 'string' || obj.region === '')) fail('"region" must be a non-empty string');
  const zones = new Map<string, string[]>();
  const seen = new Set<string>();
  if (obj.zones !== undefined) {
    if (typeof obj.zones !== 'object' || obj.zones === null || Array.isArray(obj.zones)) fail('"zones" must map zone names to lists of server URLs');
    for (const [zone, urls] of Object.entries(obj.zones as Record<string, unknown>)) {
      if (!Array.isArray(urls) || urls.length === 0) fail(`zone "${zone}" must list at least one server URL`);
      const list: string[] = [];
      for (const url of urls as unknown[]) {
        if (typeof url !== 'string' || !/^https?:\/\/[^/]+/.test(url)) fail(`zone "${zone}" has an invalid server URL ${JSON.stringify(url)}`);
        const normalised = (url as string).endsWith('/') ? (url as string) : `${url}/`;
        if (seen.has(normalised)) fail(`server URL ${normalised} is listed twice`);
        seen.add(normalised);
        list.push(normalised);
      }
      zones.set(zone, list);
    }
  }
  const settings = obj.settings ?? {};
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) fail('"settings" must be an object');
  return { topology: { region: obj.region as string | undefined, zones }, settings: settings as Record<string, unknown> };
}

/** This server's URL in the zones file and the peers it replicates to. */
export interface PeerSet {
  readonly self: string | undefined;
  readonly peers: readonly string[];
}

/**
 * Finds this server among the zones' servers and returns every other server as a peer, own zone first.
 * Without `selfUrl`, self is the URL in its zone whose port is `port` and whose host is one of `localHosts`.
 */
export function resolvePeers(topology: Topology, zone: string, port: number, selfUrl: string, localHosts: readonly string[]): PeerSet {
  const all = [...(topology.zones.get(zone) ?? []), ...[...topology.zones].filter(([z]) => z !== zone).flatMap(([, urls]) => urls)];
  if (all.length === 0) return { self: undefined, peers: [] };
  let self: string | undefined;
  if (selfUrl) {
    const wanted = selfUrl.endsWith('/') ? selfUrl : `${selfUrl}/`;
    if (!all.includes(wanted)) throw new ConfigError(`Invalid setting selfUrl: ${wanted} is not one of the servers in the config file`);
    self = wanted;
  } else {
    const own = topology.zones.get(zone) ?? [];
    const hosts = new Set(localHosts.map((h) => h.toLowerCase()));
    const candidates = own.filter((url) => {
      const u = new URL(url);
      const urlPort = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      return urlPort === port && hosts.has(u.hostname.replace(/^\[|\]$/g, '').toLowerCase());
    });
    if (candidates.length !== 1) {
      const why = candidates.length === 0 ? 'none of them is on this machine at port ' + port : `several match port ${port} (${candidates.join(', ')})`;
      throw new ConfigError(`This server cannot find itself among zone "${zone}"'s servers (${own.join(', ')}): ${why}. Set selfUrl.`);
    }
    self = candidates[0];
  }
  return { self, peers: all.filter((url) => url !== self) };
}
