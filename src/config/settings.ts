// Every server setting in one table: name, default, type and the reason for its default. Config files, environment
// variables, flags and the README's configuration reference are all derived from this table.

interface IntSetting { readonly type: 'int'; readonly default: number; readonly min: number; readonly max?: number; readonly doc: string }
interface NumberSetting { readonly type: 'number'; readonly default: number; readonly min: number; readonly max: number; readonly doc: string }
interface StringSetting { readonly type: 'string'; readonly default: string; readonly choices?: readonly string[]; readonly doc: string }
interface BoolSetting { readonly type: 'bool'; readonly default: boolean; readonly doc: string }
type SettingSpec = IntSetting | NumberSetting | StringSetting | BoolSetting;

/** The settings, with defaults. */
export const SETTINGS = {
  port: { type: 'int', default: 8761, min: 0, max: 65535, doc: 'HTTP port (0 picks a free one). `PORT` is honoured too. 8761 is the Spring Cloud default clients are configured with.' },
  host: { type: 'string', default: '0.0.0.0', doc: 'Address to listen on.' },
  region: { type: 'string', default: 'default', doc: 'Region this server belongs to (shown in /eureka/status).' },
  zone: { type: 'string', default: 'default', doc: "This server's availability zone; must be one of the config file's zones when it lists any." },
  logLevel: { type: 'string', default: 'info', choices: ['error', 'warn', 'info', 'debug'], doc: 'Log level; `debug` adds one line per request.' },
  logFormat: { type: 'string', default: 'text', choices: ['text', 'json'], doc: 'Log lines as readable text or as JSON objects.' },
  leaseRenewalIntervalSecs: { type: 'int', default: 30, min: 1, max: 3600, doc: 'Heartbeat interval assumed for instances whose registration has no leaseInfo (Eureka: 30).' },
  leaseDurationSecs: { type: 'int', default: 90, min: 1, max: 86400, doc: 'Lease duration for instances whose registration has no leaseInfo (Eureka: 90). An instance expires this long after its last heartbeat.' },
  evictionIntervalMs: { type: 'int', default: 5000, min: 10, max: 600000, doc: 'How often expired leases are evicted. Eureka waits 60 s; 5 s keeps removal close to the lease duration for little CPU.' },
  evictionMaxFraction: { type: 'number', default: 0.15, min: 0, max: 1, doc: "Most of the registry one eviction pass may remove (Eureka's 1 − renewalPercentThreshold): a safety net against mass expiry." },
  deltaRetentionMs: { type: 'int', default: 180000, min: 1000, max: 3600000, doc: 'How long a change stays in /apps/delta (Eureka: 180 s). Must exceed the clients\' fetch interval.' },
  deltaPruneIntervalMs: { type: 'int', default: 30000, min: 100, max: 600000, doc: 'How often the delta log drops expired changes (reads prune too).' },
  responseCacheMaxStalenessMs: { type: 'int', default: 0, min: 0, max: 60000, doc: 'How long a cached payload may be served after the registry changed. 0: every change is visible to the next fetch (Eureka: up to 30 s). Raise it to bound rebuilds of huge registries under write bursts.' },
  responseCacheBurstStalenessMs: { type: 'int', default: 1000, min: 0, max: 60000, doc: 'During a burst of changes (many applications changed between two full fetches a second apart: a zone\'s clients moving here), how long a full registry document may be served after it was laid out, ms (its gzip variant, while the next one is compressed, up to twice as long): readers get it at once instead of waiting for the whole registry to be encoded and compressed again. 0: never (every change is in the next fetch, as outside a burst). Eureka: up to 30 s at all times.' },
  maxBodyBytes: { type: 'int', default: 65536, min: 1024, max: 16777216, doc: 'Largest request body accepted (413 above). A real instance is ~1–2 KB.' },
  bodyDrainMaxBytes: { type: 'int', default: 33554432, min: 0, max: 1073741824, doc: 'After a reply sent before the body was read (413, 415, 404 …), at most this much of the rest is read and discarded, so that clients that send the whole body before reading the reply (Java) read the status; past it the server stops reading. Discarding costs ~1 ms of CPU per MB.' },
  bodyDrainTimeoutMs: { type: 'int', default: 5000, min: 0, max: 600000, doc: 'How long after such a reply the connection may stay open while the rest of the body arrives; then it is cut. 32 MiB take under 3 s at 100 Mbit/s.' },
  headersTimeoutMs: { type: 'int', default: 10000, min: 100, max: 600000, doc: 'A request whose headers have not all arrived this long after it started is answered 408 and its connection closed (TLS handshakes get as long). Clients send headers in one write; Node allows 60 s.' },
  requestTimeoutMs: { type: 'int', default: 30000, min: 100, max: 3600000, doc: 'A request whose body has not all arrived this long after it started is answered 408 and its connection closed. Registrations are ~1–2 KB and peers give up on a batch after `replicationTimeoutMs`; Node allows 300 s. Never below `headersTimeoutMs`.' },
  maxConnectionsPerAddress: { type: 'int', default: 512, min: 0, max: 1000000, doc: "Most connections open at once from one client address; more are closed as they arrive (a warning per address at most once a minute). 0: no cap. Eureka's Java client pools at most 200 connections, a peer up to 8; clients behind one NAT or proxy share an address, so leave room." },
  listenBacklog: { type: 'int', default: 4096, min: 1, max: 65535, doc: 'Connections the kernel holds for this server while it is busy accepting others (the listen backlog; Linux caps it at `net.core.somaxconn`). When a zone fails its clients reconnect here within seconds: past the backlog their attempts are dropped and retried only after 1 s, then 3 s. Node\'s default is 511.' },
  acceptors: { type: 'int', default: 8, min: 1, max: 64, doc: 'Listening sockets on the one port (SO_REUSEPORT; Linux with Node 22.12, 23.1 or later, else always 1). Node accepts one new connection per listening socket per turn of its event loop, and a server busy writing turns every 20–200 ms: when a zone fails and its clients reconnect in a burst, one socket leaves hundreds of connections waiting seconds to be accepted; the kernel spreads new connections over several. Measured on a 2-core machine: 300 new connections to a server turning every 20 ms answered in 6.4 s with 1, 1.1 s with 8; heartbeats over kept connections as many a second with 8 as with 1. A port already listened on, by another instance of this server too, still fails the start.' },
  maxNameLength: { type: 'int', default: 256, min: 8, max: 4096, doc: 'Longest app name, instance id, host name, IP or VIP (400 above).' },
  maxMetadataEntries: { type: 'int', default: 128, min: 0, max: 10000, doc: 'Most metadata entries per instance (400 above).' },
  maxInstancesPerApp: { type: 'int', default: 10000, min: 1, max: 10000000, doc: 'Most instances one application may hold; further registrations get 400.' },
  maxInstances: { type: 'int', default: 1000000, min: 1, max: 100000000, doc: 'Most instances the whole registry holds, whatever their apps; further registrations get 400. Four times a 250,000-instance fleet: a bound on memory, never reached by a real one.' },
  maxVipAddresses: { type: 'int', default: 16, min: 1, max: 1000, doc: 'Most comma-separated names in an instance\'s `vipAddress`, and in its `secureVipAddress` (400 above). Real instances list one to three; each name is indexed and may be cached as a payload of its own.' },
  deltaMaxBytes: { type: 'int', default: 268435456, min: 1048576, max: 68719476736, doc: 'Estimated bytes the delta log may hold: an ordinary 1 KB registration counts about 4.2 KB (its objects and its JSON and XML encodings), large metadata more; the default holds about 60,000 such changes. Past it the oldest changes leave before `deltaRetentionMs`, shortening the window a client must poll within: a client that misses a change usually sees the hashcode disagree and fetches the full registry, but a change that leaves the status counts equal (one instance replacing another) stays unseen until its next full fetch. `/eureka/status` counts them (`deltaDroppedEarly`).' },
  responseCacheMaxBytes: { type: 'int', default: 67108864, min: 0, max: 68719476736, doc: 'Bytes (plain + gzip) the response cache may hold for per-app and per-VIP payloads; the least recently used are dropped past it, and past 4,096 entries. The full registry and the delta are kept outside this budget (rebuilding them per read would cost far more); the most recently built payload is kept even when larger than the budget.' },
  memoryReturnIntervalMs: { type: 'int', default: 30000, min: 0, max: 3600000, doc: 'How often the server checks whether a load spike left heap committed but free, and gives it back to the system with a memory-reducing full collection (a pause of about 1 ms per MB of live heap, at most once per period, only once the heap stopped growing and at least as much of it is free as is in use outside the young generation, never over 256 MB of live heap: a big registry whose heap is simply full is left alone). 0: never (memory stays at its peak after a spike).' },
  gcCountsExternalMemory: { type: 'bool', default: false, doc: 'Count buffers (the encoded payloads, request and response bytes) in V8\'s heap limit, so that a full collection comes when heap and buffers together grew, not after every 64 MB of buffers (V8\'s default, which at 250,000 instances collects a 400 MB heap every 3-7 s). Trades memory for latency: on the zone-share benchmark, no full collection in a 60 s window (p99 21 ms) but three in 150 s (p99 248 ms), resident memory up to 1.47 GB instead of 1.0 GB (see "Benchmark"). Node 24 (V8 13) and later; ignored before. Read at start by the command line entry.' },
  gcPretenuring: { type: 'bool', default: false, doc: "V8's allocation-site pretenuring: objects made where most objects made before outlived two young collections are made directly in the old generation. Off by default: a registry's encoders make both kept and transient objects at the same places, and with it the transient ones fill the old generation (on the zone-share benchmark, 250,000 instances: objects promoted out of the young generation in 20 s 98 → 25-32 MB, full collections every ~80 s instead of every ~30 s, the same CPU; see \"Benchmark\"). true: V8's default. Read at start by the command line entry." },
  gcHeapGrowingPercent: { type: 'int', default: 100, min: 0, max: 1000, doc: "How far V8 lets the old generation grow past what the last full collection kept before it starts the next, percent (V8's heap growing factor, 1 + this / 100). 0: V8 picks the factor from how fast it collects and allocates, for throughput; under the zone-share benchmark's steady load (250,000 instances) it sometimes picked about 3 %, a full collection every 16-20 s, each stalling a single core 0.3-0.45 s. 100: the old generation may double between collections (at most the heap limit); at that load 64 MB of new buffers start one first, every ~80 s. Read at start by the command line entry." },
  memoryReturnMinBytes: { type: 'int', default: 33554432, min: 1048576, max: 68719476736, doc: 'Free committed heap, bytes, worth a memory-reducing collection (see memoryReturnIntervalMs): 32 MB back for a pause of about 1 ms per MB live, once per spike.' },
  watchMaxWaitMs: { type: 'int', default: 300000, min: 1000, max: 3600000, doc: 'Longest a long-poll on the delta (`/apps/delta?since=R&wait=…`) is held; longer requested waits are clamped to it, and up to 1/16 of the wait is added at random so that watchers parked together do not return together.' },
  watchMaxWatchers: { type: 'int', default: 20000, min: 0, max: 1000000, doc: 'Most long-polls parked and event streams open at once on this server (each holds a connection and a few KB); past it a watch is answered 429 with Retry-After and the client polls or tries another server. 0: no watches.' },
  watchKeepAliveMs: { type: 'int', default: 15000, min: 100, max: 300000, doc: 'Period of the comment keep-alives on event streams (`/watch`), which keep proxies and load balancers from closing an idle stream.' },
  peerProbeIntervalMs: { type: 'int', default: 5000, min: 100, max: 600000, doc: "How often each peer's readiness (`GET /health/ready` beside its Eureka URL, with the peer credentials and CA) is probed, so that a dead peer shows as failing within this long even when nothing is replicated to it. Each probe times out after this long or `replicationTimeoutMs`, whichever is shorter. A Java Eureka peer answers 404 there: it counts as reachable, readiness unknown." },
  selfUrl: { type: 'string', default: '', doc: "This server's own base URL as the config file lists it. Empty: the URL in its zone whose port is this server's and whose host is one of this machine's names or addresses." },
  replicationBatchSize: { type: 'int', default: 250, min: 1, max: 10000, doc: 'Most changes per replication batch (Eureka: 250).' },
  maxReplicationBodyBytes: { type: 'int', default: 2097152, min: 1024, max: 268435456, doc: 'Largest replication batch a peer may send, also after gunzip (413 above, 400 when gzip inflates past it). 250 real instances are ~0.5 MB; raise it when instances carry large metadata. A batch of more than `replicationBatchSize` changes gets 400 and nothing of it is applied, so peers share that setting.' },
  replicationMaxBatchingDelayMs: { type: 'int', default: 20, min: 0, max: 10000, doc: 'Longest a change waits for its batch to fill before it is sent. Eureka waits 500 ms and then serves it from a 30 s cache; 20 ms keeps cross-zone visibility well under a second.' },
  replicationMaxPending: { type: 'int', default: 10000, min: 10, max: 10000000, doc: 'Most changes queued per peer; past it heartbeats are dropped first, and a dropped register or cancel is counted and logged.' },
  replicationTaskExpiryMs: { type: 'int', default: 30000, min: 100, max: 3600000, doc: 'How long an undelivered change is retried (Eureka: 30 s); time a peer asks us to wait (429 or 503) does not count. Afterwards heartbeats answered 404 repair the peer.' },
  replicationTimeoutMs: { type: 'int', default: 5000, min: 50, max: 120000, doc: 'Timeout of one request to a peer.' },
  antiEntropyIntervalMs: { type: 'int', default: 30000, min: 100, max: 3600000, doc: 'How often this server compares its registry with each peer\'s (a digest first, then only the applications that differ) and sends the instances it holds newer. Peers that do not know the comparison (Java Eureka servers) are skipped.' },
  antiEntropyJitterFraction: { type: 'number', default: 0.1, min: 0, max: 1, doc: 'Random spread of each comparison round, as a fraction of antiEntropyIntervalMs, so that the servers of a region do not compare in step.' },
  tombstoneLifetimeMs: { type: 'int', default: 300000, min: 1000, max: 86400000, doc: 'How long a cancel or an override removal is remembered, so that a stale copy arriving later (a delayed batch, a peer\'s registry during startup sync, a comparison with a peer that missed it) does not bring back what was removed. Longer than any partition you expect replication to ride out.' },
  healthChecksEnabled: { type: 'bool', default: false, doc: 'Probe the instances whose own client talks to this server (GET of their health URL, or a TCP connect; see "Health checks") and hold those that fail DOWN. Off by default: Eureka never probes, and an instance whose health URL does not answer 2xx would be marked DOWN.' },
  healthCheckIntervalMs: { type: 'int', default: 10000, min: 100, max: 3600000, doc: 'Time between two probes of an instance; probes are spread evenly over it. An instance may ask for a longer one (`healthcheck.intervalSecs`), never a shorter one. With the thresholds below a hung instance is DOWN everywhere in about 3 × 10 s.' },
  healthCheckTimeoutMs: { type: 'int', default: 2000, min: 10, max: 600000, doc: 'How long a probe may take (connect and status line); then it counts as failed. At most `healthCheckIntervalMs`; an instance may ask for a shorter one (`healthcheck.timeoutSecs`).' },
  healthCheckFailuresBeforeDown: { type: 'int', default: 3, min: 1, max: 100, doc: 'Failed probes in a row that mark an instance DOWN: one lost packet or a GC pause is not an outage. Keep it at 2 or more, or the safety valve cannot act before the first marks.' },
  healthCheckSuccessesBeforeUp: { type: 'int', default: 2, min: 1, max: 100, doc: 'Passed probes in a row that give an instance marked DOWN its own status back.' },
  healthCheckConcurrency: { type: 'int', default: 32, min: 1, max: 10000, doc: 'Most probes in flight at once; the others wait for a slot. 10,000 instances every 10 s are 1,000 probes a second: 32 slots allow each 32 ms.' },
  healthCheckValveFraction: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'Safety valve: when more than this fraction of the probes of the last interval failed, this server\'s own network is the likely fault, so it stops marking instances DOWN (probing goes on, instances that pass are still cleared) until the fraction is back at or below it. 1: never engages.' },
  healthCheckValveMinInstances: { type: 'int', default: 10, min: 0, max: 10000000, doc: 'Below this many probes in the last interval the safety valve never engages: a few dead instances out of a handful are not a network fault (as `selfPreservationMinInstances`).' },
  dnsEnabled: { type: 'bool', default: false, doc: 'Answer DNS queries (UDP and TCP on `dnsPort`) for the names under `dnsDomain`: A, AAAA and SRV records of UP instances (see "DNS"). Off by default: it opens one more port.' },
  dnsPort: { type: 'int', default: 8600, min: 0, max: 65535, doc: 'UDP and TCP port of the DNS interface (0 picks a free one, the same for both). 8600 is Consul\'s; port 53 needs privileges (or a resolver forwarding the domain here).' },
  dnsHost: { type: 'string', default: '', doc: 'Address the DNS interface listens on. Empty: the `host` setting\'s.' },
  dnsDomain: { type: 'string', default: 'registry', doc: 'Domain the DNS interface is authoritative for (`orders.registry`); names outside it are REFUSED, never resolved elsewhere.' },
  dnsTtlSecs: { type: 'int', default: 5, min: 0, max: 86400, doc: 'TTL of every DNS record, and how long resolvers may cache a negative answer (the SOA minimum). Short, so that a change reaches clients behind caching resolvers within seconds.' },
  dnsMaxUdpBytes: { type: 'int', default: 1232, min: 512, max: 4096, doc: 'Largest UDP answer to a client that advertises a larger EDNS0 buffer (plain DNS gets 512 bytes); bigger answers are truncated (TC) and the client asks again over TCP. 1232 avoids IP fragmentation on any path (DNS Flag Day 2020).' },
  dnsRateLimitPerSourcePerSec: { type: 'number', default: 1000, min: 0, max: 1000000, doc: 'Most UDP queries per second per source address, burst of one second. Past it, every other query is dropped and the rest answered with an empty truncated reply (no larger than the query), so real clients retry over TCP and a spoofed source gains nothing. 0: off. A busy caching resolver may need more.' },
  dnsTcpMaxConnections: { type: 'int', default: 256, min: 1, max: 100000, doc: 'Most DNS TCP connections open at once; more are closed as they arrive.' },
  dnsTcpIdleTimeoutMs: { type: 'int', default: 10000, min: 100, max: 600000, doc: 'A DNS TCP connection that sends no query for this long is closed.' },
  replicationRetryBaseMs: { type: 'int', default: 100, min: 1, max: 60000, doc: 'First pause after a network error, 429 or 503 from a peer; doubles per failure, with jitter.' },
  replicationRetryMaxMs: { type: 'int', default: 5000, min: 1, max: 600000, doc: 'Longest pause between retries to an unreachable peer; a longer Retry-After from a peer is cut to it.' },
  syncAttempts: { type: 'int', default: 5, min: 1, max: 1000, doc: 'Startup sync attempts (each asks every peer) before the failure mode applies.' },
  syncRetryWaitMs: { type: 'int', default: 1000, min: 1, max: 600000, doc: 'Pause after the first failed sync attempt; doubles per attempt up to 8 ×. Eureka waits 30 s.' },
  syncFailureMode: { type: 'string', default: 'refuse', choices: ['refuse', 'serve'], doc: '`refuse`: when no peer answers the startup sync, registry reads answer 403 (clients move to another server) until a peer answers or `syncEmptyWaitMs` passes, as Eureka does. `serve`: serve the registry as it is.' },
  syncEmptyWaitMs: { type: 'int', default: 300000, min: 0, max: 86400000, doc: 'How long registry reads are refused after a failed startup sync (Eureka: 5 min). Sync keeps retrying meanwhile.' },
  selfPreservationEnabled: { type: 'bool', default: true, doc: 'Suspend lease expiry when renewals fall below the threshold (a partition, not a mass death).' },
  renewalPercentThreshold: { type: 'number', default: 0.85, min: 0, max: 1, doc: 'Threshold = expected renewals per minute × this (Eureka: 0.85).' },
  renewalThresholdUpdateIntervalMs: { type: 'int', default: 900000, min: 1000, max: 86400000, doc: 'How often expected renewals are recounted from the registry (Eureka: 15 min); registrations, cancels and evictions adjust them at once.' },
  selfPreservationMinInstances: { type: 'int', default: 10, min: 0, max: 10000000, doc: 'Below this many instances self-preservation never engages: a handful of dead instances is not a partition (Eureka keeps small setups in permanent "emergency").' },
  minRenewalIntervalSecs: { type: 'int', default: 10, min: 1, max: 3600, doc: 'Shortest heartbeat interval self-preservation believes: an instance promising faster heartbeats is expected to renew this often, no more. With a fleet on the usual 30 s, registrations under 5 % of it can never hold self-preservation on (at 5 s it would take 3 %).' },
  maxRenewalIntervalSecs: { type: 'int', default: 300, min: 1, max: 86400, doc: 'Longest heartbeat interval self-preservation believes: an instance promising slower heartbeats is still expected to renew this often.' },
  renewalWindowMs: { type: 'int', default: 60000, min: 1000, max: 600000, doc: 'Window in which renewals are counted (Eureka: one minute). Shorten only in tests.' },
  authEnabled: { type: 'bool', default: false, doc: 'Require credentials (HTTP Basic or Bearer token, from `authFile`) per role: writes need `client`, `peer` or `admin`; see "Security". Off by default so existing clients keep working; turn it on wherever the network is not trusted.' },
  authFile: { type: 'string', default: '', doc: 'JSON credentials file (users with passwords, tokens, their roles and apps); required when `authEnabled`. Read once at start; a bad file stops the start naming the entry.' },
  authAnonymousReads: { type: 'bool', default: true, doc: 'With `authEnabled`: registry reads (every GET under /eureka) and /metrics need no credentials. Reads reveal what DNS and the services themselves reveal; turn it off when the registry itself is sensitive (reads then need any valid credential, 401 without).' },
  peerUsername: { type: 'string', default: '', doc: 'User this server sends to its peers as Basic auth (a `peer` in their `authFile`), unless a peer URL carries its own user:password@. Empty: none.' },
  peerPassword: { type: 'string', default: '', doc: 'Password for `peerUsername`. Prefer the environment variable to a flag (flags show in `ps`).' },
  tlsCertFile: { type: 'string', default: '', doc: 'PEM certificate (chain) of an https server; with `tlsKeyFile` (both or neither). Empty: plain http, for a TLS-terminating proxy or a trusted network.' },
  tlsKeyFile: { type: 'string', default: '', doc: 'PEM private key for `tlsCertFile`.' },
  peerCaFile: { type: 'string', default: '', doc: "PEM CA bundle https peers' certificates are verified against instead of the system CAs (private CAs, self-signed peers). Verification is never switched off." },
  rateLimitFullFetchesPerSec: { type: 'number', default: 0, min: 0, max: 1000000, doc: 'Most full fetches (GET /apps) per second over the whole server, burst of one second; more get 429 with Retry-After. 0: off. Bounds the cost of a restart storm; deltas and single-app reads are not limited. Peers and admins are exempt.' },
  rateLimitRequestsPerClientPerSec: { type: 'number', default: 0, min: 0, max: 1000000, doc: 'Most requests per second per client address over every Eureka route, burst of one second; more get 429 with Retry-After. 0: off. Clients behind one NAT or proxy share an address. Peers (by credentials with auth on, by address with auth off, see `peerAddressCheck`) and admins are exempt.' },
  peerAddressCheck: { type: 'bool', default: true, doc: 'With auth off: honour what only a peer may do (the x-netflix-discovery-replication header, POST /peerreplication/batch, `overriddenstatus` on heartbeats) only from the addresses the config file\'s peer hosts resolve to and `peerAllowedAddresses`. From any other address a write with the header is an ordinary client\'s write and a batch gets 403. false: trust the header from anyone, as Eureka does. With auth on the `peer` credential decides.' },
  peerAllowedAddresses: { type: 'string', default: '', doc: 'Comma-separated addresses and CIDR ranges (e.g. `10.0.4.0/24, fd00::7`) that also count as peers with auth off: peers that connect from an address their host name does not resolve to (NAT, several interfaces).' },
  peerAddressRefreshMs: { type: 'int', default: 60000, min: 1000, max: 86400000, doc: 'How often the peer host names in the config file are resolved again (DNS). A name that fails to resolve keeps its last addresses.' },
  peerDnsName: { type: 'string', default: '', doc: 'A DNS name listing the servers of the region (on Kubernetes the headless Service, e.g. `zone-registry-peers.ns.svc.cluster.local`), resolved at start and every `peerDnsRefreshMs`: its SRV records (target and port), or else its A/AAAA records with this server\'s own port, each a peer `http://host:port/eureka/` (https with `tlsCertFile`). Peers that appear are added and peers that vanish are dropped without a restart; this server finds itself among them (its host name or addresses, and its port) and leaves itself out. Adds to the config file\'s peers. Empty: off.' },
  peerDnsRefreshMs: { type: 'int', default: 30000, min: 100, max: 86400000, doc: 'How often `peerDnsName` is resolved again. A failed resolution, or an answer with no records, keeps the peers of the last good one; at start, until the name first resolves, startup sync counts as not having reached its peers (`syncFailureMode` applies) rather than as a server alone.' },
  zoneFile: { type: 'string', default: '', doc: "A file holding this server's zone (read once at start, surrounding blanks trimmed); when set it replaces `zone`. On Kubernetes an init container writes the node's `topology.kubernetes.io/zone` label there. Empty: off." },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

type ValueOf<S> = S extends { type: 'int' | 'number' } ? number : S extends { type: 'bool' } ? boolean : string;

/** Validated settings, every one present. */
export type Settings = { readonly [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> };

/** `evictionIntervalMs` → `eviction-interval-ms`. */
export const flagName = (name: string): string => name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** `evictionIntervalMs` → `EUREKA_EVICTION_INTERVAL_MS`. */
export const envName = (name: string): string => 'EUREKA_' + flagName(name).replace(/-/g, '_').toUpperCase();

/** The default of every setting. */
export function defaultSettings(): Settings {
  return Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.default])) as Settings;
}

/** Parses one raw value (string from env/flags, or JSON value from a file) for a setting; throws a message naming it. */
export function parseSetting(name: string, raw: unknown, source: string): string | number | boolean {
  const spec = (SETTINGS as Record<string, SettingSpec>)[name];
  if (!spec) throw new ConfigError(`Unknown setting "${name}" in ${source}`);
  const fail = (expected: string): never => {
    throw new ConfigError(`Invalid setting ${name} (${source}): expected ${expected}, got ${JSON.stringify(raw)}`);
  };
  switch (spec.type) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const range = `${spec.min}${spec.max !== undefined ? `..${spec.max}` : ' or more'}`;
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) return fail(`${spec.type === 'int' ? 'an integer' : 'a number'} in ${range}`);
      if (n < spec.min || (spec.max !== undefined && n > spec.max)) return fail(`a value in ${range}`);
      return n;
    }
    case 'bool':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      return fail('true or false');
    case 'string':
      if (typeof raw !== 'string' || (raw === '' && spec.default !== '')) return fail('a non-empty string');
      if (spec.choices && !spec.choices.includes(raw)) return fail(`one of ${spec.choices.join(', ')}`);
      return raw;
  }
}

/** A configuration problem; the message names the setting. */
export class ConfigError extends Error {}
