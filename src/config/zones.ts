// The zones file as the server uses it: its topology (read by codecs/zones-file) and this server's peers in it.
// A server's own zone comes from the `zone` setting.
import { normaliseServerUrl, readZonesFile } from '../codecs/zones-file';
import { ConfigError } from './settings';

/** The region's layout as the zones file describes it. */
export interface Topology {
  readonly region: string | undefined;
  /** Zone name → base URLs of its servers (e.g. http://host:8761/eureka/), in file order. */
  readonly zones: ReadonlyMap<string, readonly string[]>;
}

/** Validates the file's shape; returns the topology and the raw settings block. */
export function parseZonesFile(json: unknown, file: string): { topology: Topology; settings: Record<string, unknown> } {
  const reading = readZonesFile(json);
  if ('error' in reading) throw new ConfigError(`Invalid config file ${file}: ${reading.error}`);
  const { region, zones, settings } = reading.contents;
  return { topology: { region, zones: zones ?? new Map() }, settings };
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
    const wanted = normaliseServerUrl(selfUrl);
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
