// The peers of a zone server as they come and go: the zones file's peers plus those a peer DNS name lists, each with
// its replication queue, its probe, its registry comparison and its addresses in the peer-address check. Built from
// the settings by composePeers(); the composition root wires the result in.
import { localHostNames } from '../config/config';
import { HostLookup, PeerAddresses, systemLookup } from '../config/peer-addresses';
import { PeerDiscovery, PeerResolver, systemPeerResolver } from '../config/peer-dns';
import { PeerMembership } from '../config/peer-membership';
import { Settings } from '../config/settings';
import { AddressEntry, canonicalAddress } from '../codecs/address-set';
import { splitCredentials, stripCredentials } from '../codecs/url-credentials';
import { Clock } from '../domain/clock';
import { RegistrationLimits } from '../domain/registration';
import { Registry } from '../domain/registry';
import { Logger } from '../observability/logger';
import { PeerStatus } from '../observability/server-status';
import { Scheduler } from '../scheduling/scheduler';
import { PeerTransportSecurity } from '../security/config';
import { AntiEntropy } from './anti-entropy';
import { HttpPeerClient, PeerClient } from './peer-client';
import { PeerNodes } from './peer-nodes';
import { PeerProber } from './peer-prober';

/** What the peers are built from besides the settings. */
export interface PeerSetDeps {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly random: () => number;
  readonly limits: RegistrationLimits;
  /** Credentials and CA for the peers. */
  readonly transport: PeerTransportSecurity;
  /** peerAllowedAddresses, parsed. */
  readonly allowedAddresses: readonly AddressEntry[];
  /** Builds the transport to a peer (tests inject faults); default: HttpPeerClient. */
  readonly peerClient?: (url: string) => PeerClient;
  /** Resolves peerDnsName; default: the system's DNS servers. */
  readonly peerResolver?: PeerResolver;
  /** Resolves peer host names to addresses; default: dns.promises.lookup. */
  readonly lookup?: HostLookup;
}

/** The live peer set and everything that follows it. */
export interface PeerSet {
  readonly nodes: PeerNodes;
  readonly prober: PeerProber;
  /** Undefined when this server has no peers and no peer DNS name (nothing to compare with, ever). */
  readonly antiEntropy?: AntiEntropy;
  /** The addresses peers connect from (the peer-address check with authentication off). */
  readonly addresses: PeerAddresses;
  /** Undefined without peerDnsName. */
  readonly discovery?: PeerDiscovery;
  /** True when there is no peer and no peer DNS name: nothing to sync from. */
  readonly alone: boolean;
  /** The peers' URLs as shown (credentials stripped). */
  urls(): string[];
  /** The transports of the peers known now. */
  clients(): PeerClient[];
  /** Each peer as operators see it: zone, queue, replication, comparison, probe. */
  status(): PeerStatus[];
  /** The port this server listens on, once known (port 0 picks one): how it finds itself among the DNS records. */
  setOwnPort(port: number): void;
  /** Stops discovery, comparisons, probes and replication; detaches from the registry. */
  close(): void;
}

/** Builds the peer set of a server from its settings, its zones file's peers and (optionally) their zones. */
export function composePeers(s: Settings, peerUrls: readonly string[], zones: ReadonlyMap<string, string>, deps: PeerSetDeps): PeerSet {
  const { registry, clock, scheduler, logger, random, limits } = deps;
  const membership = new PeerMembership(peerUrls);
  const newClient = deps.peerClient ?? ((u: string) => new HttpPeerClient(u, s.replicationTimeoutMs, deps.transport));
  const clientsByUrl = new Map(membership.urls.map((url) => [url, newClient(url)]));
  const initial = [...clientsByUrl.values()];
  let ownPort = s.port;
  const ownHosts = new Set(localHostNames().map((h) => canonicalAddress(h) ?? h.toLowerCase()));
  // Queries still out when the server closes are cancelled (an injected resolver belongs to the caller).
  const ownResolver = s.peerDnsName && deps.peerResolver === undefined ? systemPeerResolver(s.replicationTimeoutMs) : undefined;
  const resolver = deps.peerResolver ?? ownResolver;
  const discovery =
    s.peerDnsName && resolver
      ? new PeerDiscovery(resolver, membership, { name: s.peerDnsName, scheme: s.tlsCertFile ? 'https' : 'http', self: () => ({ port: ownPort, hosts: ownHosts }) }, logger)
      : undefined;
  if (s.authEnabled && !deps.transport.credentials) {
    const bare = peerUrls.filter((url) => splitCredentials(url).credentials === undefined).map(stripCredentials);
    if (discovery) bare.push(`peers found through ${s.peerDnsName}`);
    if (bare.length > 0) logger.warn('authentication is on but these peers get no credentials (set peerUsername/peerPassword or user:password@ in their URLs); if they require them, replication to them fails', { peers: bare.join(', ') });
  }
  const nodes = new PeerNodes(
    initial,
    registry,
    clock,
    scheduler,
    logger,
    {
      batchSize: s.replicationBatchSize,
      maxBatchingDelayMs: s.replicationMaxBatchingDelayMs,
      maxPending: s.replicationMaxPending,
      maxBatchBytes: s.maxReplicationBodyBytes,
      taskExpiryMs: s.replicationTaskExpiryMs,
      retryBaseMs: s.replicationRetryBaseMs,
      retryMaxMs: s.replicationRetryMaxMs,
      random,
    },
    limits,
  );
  const clients = (): PeerClient[] => nodes.nodes.map((n) => n.client);
  // Each peer's own liveness, probed from the start (a peer that never answers shows so during the startup sync too).
  const prober = new PeerProber(clients, clock, scheduler, logger, {
    intervalMs: s.peerProbeIntervalMs,
    timeoutMs: Math.min(s.peerProbeIntervalMs, s.replicationTimeoutMs),
  });
  const alone = initial.length === 0 && discovery === undefined;
  // Peers converge by themselves: rounds start once startup sync is over.
  const antiEntropy = alone
    ? undefined
    : new AntiEntropy(registry, clock, scheduler, logger, initial, limits, {
        intervalMs: s.antiEntropyIntervalMs,
        jitterFraction: s.antiEntropyJitterFraction,
        random,
        maxRepairItems: s.replicationBatchSize,
        maxRepairBytes: Math.floor(s.maxReplicationBodyBytes / 2),
      });
  // The startup sync installs a whole registry: the digest is built once after it (catchUp), not per install.
  antiEntropy?.defer();
  const addresses = new PeerAddresses(membership.urls, deps.allowedAddresses, deps.lookup ?? systemLookup, logger);
  // Replication, comparisons and the peer-address check follow the peer set; what a peer that left had queued goes with it.
  const unsubscribe = membership.subscribe((change) => {
    for (const url of change.removed) {
      const client = clientsByUrl.get(url);
      if (client === undefined) continue;
      clientsByUrl.delete(url);
      antiEntropy?.removePeer(client);
      nodes.remove(client);
    }
    for (const url of change.added) {
      const client = newClient(url);
      clientsByUrl.set(url, client);
      nodes.add(client);
      antiEntropy?.addPeer(client);
    }
    addresses.update(membership.urls, membership.learnedAddresses());
  });

  return {
    nodes,
    prober,
    antiEntropy,
    addresses,
    discovery,
    alone,
    // Peer URLs may carry user:password@; nothing shown (status, dashboard, logs) does.
    urls: () => membership.urls.map(stripCredentials),
    clients,
    status: () =>
      nodes.nodes.map((n) => ({
        url: n.url,
        zone: zones.get(n.url),
        queueDepth: n.queueDepth,
        stats: n.stats,
        comparison: antiEntropy?.statsFor(n.url),
        probe: prober.statsFor(n.url),
        requestDurations: n.requestDurations,
      })),
    setOwnPort: (port) => {
      ownPort = port;
    },
    close: () => {
      discovery?.close();
      ownResolver?.cancel();
      antiEntropy?.close();
      prober.close();
      nodes.close();
      unsubscribe();
    },
  };
}

/** Each server URL of a zones file (credentials stripped, as peers are shown) → its zone. */
export function peerZones(zones: Iterable<readonly [string, readonly string[]]> | undefined): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const [zone, urls] of zones ?? []) for (const url of urls) out.set(stripCredentials(url), zone);
  return out;
}
