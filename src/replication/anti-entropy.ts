// Anti-entropy: peers converge by themselves. The registry's digest is kept incrementally (one fingerprint per
// change); every antiEntropyIntervalMs (jittered) this server sends each peer its root digest; when they differ the
// peer answers with its per-application digests, this server asks for the copies of the applications that differ and
// sends those it holds newer (push only: the peer's own round sends what it holds newer). Repairs are applied as
// replicated writes (never forwarded again), so they reach the delta and the watchers.
import { Clock } from '../domain/clock';
import { EMPTY_HASH, fingerprint, hashHex, RegistryDigest, sameHash } from '../domain/digest';
import { RegistrationLimits } from '../domain/registration';
import { Registry, RegistryEvent, Tombstone } from '../domain/registry';
import { unreachable } from '../domain/unreachable';
import { compareVersions, InstanceVersion } from '../domain/versions';
import { Logger } from '../observability/logger';
import { PeerComparisonStats } from '../observability/server-status';
import { Scheduler } from '../scheduling/scheduler';
import {
  AppVersions,
  COMPARISON_PATHS,
  decodeDigestAnswer,
  decodeDigestRequest,
  decodeRepairs,
  decodeVersionsAnswer,
  decodeVersionsRequest,
  encodeDigestAnswer,
  encodeDigestRequest,
  encodeRepairItem,
  encodeVersionsAnswer,
  encodeVersionsRequest,
  MAX_VERSION_APPS,
  RepairItem,
  repairListOf,
  RepairOutcome,
} from './anti-entropy-protocol';
import { PeerClient, PeerExchange } from './peer-client';

/** Settings of the comparison rounds (units in the names). */
export interface AntiEntropyOptions {
  readonly intervalMs: number;
  /** Spread of each round, as a fraction of the interval. */
  readonly jitterFraction: number;
  readonly random: () => number;
  /** Most items per repair request (the peer's replicationBatchSize). */
  readonly maxRepairItems: number;
  /** Largest repair request body, bytes (the peer's maxReplicationBodyBytes). */
  readonly maxRepairBytes: number;
}

/** A comparison that could not run, and why. */
type RoundFailure = { readonly failed: string } | { readonly unsupported: true };

/** What a server answers to a peer's comparison requests (the HTTP routes call these). */
export interface ComparisonAnswers {
  /** The digest request: ours, with the per-application digests when the roots differ; undefined: malformed. */
  answerDigest(body: string): string | undefined;
  /** The versions of the applications asked for; undefined: malformed. */
  answerVersions(body: string): string | undefined;
  /** Applies a peer's repairs; undefined: malformed. */
  applyRepairs(body: string): RepairOutcome | undefined;
}

/** Instances fingerprinted per turn of the event loop while the digest catches up (about 5 ms). */
const CATCH_UP_SLICE = 2000;

/** Most entries a peer's versions answer may hold per application (instances and removals). */
const MAX_VERSIONS_PER_APP = 1_000_000;

/**
 * How recently an application must have changed here to be left out of a round, ms (at most half the interval): its
 * change is most likely still on its way to the peer by replication, and comparing it would exchange and repair
 * what replication is about to deliver. Left out once only: the next round compares it whatever happens, so every
 * application is compared within two rounds. In a storm of changes (a zone's clients moving over) nearly every
 * application has just changed, and a round comparing them all cost both servers several hundred ms of CPU at once.
 */
export const SETTLING_MS = 5000;

// Applications remembered as changed before the old ones are forgotten outside a round.
const MAX_SETTLING_APPS = 4096;

/** The anti-entropy of one server: its digest, its rounds with each peer, and its answers to theirs. */
export class AntiEntropy implements ComparisonAnswers {
  readonly digest = new RegistryDigest();
  private readonly stats = new Map<string, PeerComparisonStats>();
  private readonly unsubscribe: () => void;
  private cancelNext: (() => void) | undefined;
  private running = false;
  private closed = false;
  // While deferred, changes are not fingerprinted (a startup sync installing a whole registry would hash every
  // instance on its way to ready); `rebuilding` until the digest has caught up with the registry again.
  private deferred = false;
  private rebuilding: Promise<void> | undefined;
  // When each application last changed here, ms (pruned each round), and those left out of the last round.
  private readonly changedAt = new Map<string, number>();
  private leftOut = new Set<string>();

  constructor(
    private readonly registry: Registry,
    private readonly clock: Clock,
    private readonly scheduler: Pick<Scheduler, 'after'>,
    private readonly logger: Logger,
    private peers: readonly PeerClient[],
    private readonly limits: RegistrationLimits,
    private readonly options: AntiEntropyOptions,
  ) {
    for (const lease of registry.leases()) this.digest.set(lease.record.instance.app, lease.record.instance.id, fingerprint(lease.record));
    this.unsubscribe = registry.subscribe((e) => this.onEvent(e));
    for (const peer of peers) this.stats.set(peer.url, emptyComparisonStats());
  }

  /** Compares with a peer that joined from the next round on. */
  addPeer(peer: PeerClient): void {
    if (this.peers.includes(peer)) return;
    this.peers = [...this.peers, peer];
    this.stats.set(peer.url, emptyComparisonStats());
  }

  /** Forgets a peer that left (a comparison with it in flight ends unrecorded). */
  removePeer(peer: PeerClient): void {
    this.peers = this.peers.filter((p) => p !== peer);
    if (!this.peers.some((p) => p.url === peer.url)) this.stats.delete(peer.url);
  }

  /**
   * Stops fingerprinting changes until {@link catchUp}: for a startup sync, which installs a whole registry and
   * would otherwise hash every instance before the server is ready. Meanwhile the digest says nothing true, so
   * peers comparing with this server see it differ, as they would see any server that is still syncing.
   */
  defer(): void {
    this.deferred = true;
  }

  /**
   * Rebuilds the digest from the registry after {@link defer}, `sliceSize` instances per turn of the event loop, with
   * changes fingerprinted again from the first slice on (an instance changed meanwhile is set twice, to the same
   * value); resolves once the digest matches the registry. Rounds wait for it.
   */
  catchUp(sliceSize = CATCH_UP_SLICE): Promise<void> {
    if (!this.deferred) return this.rebuilding ?? Promise.resolve();
    this.deferred = false;
    this.digest.clear();
    const rebuild = async (): Promise<void> => {
      let inSlice = 0;
      // A Map iterated while it changes visits what is added and skips what is deleted: the walk ends current.
      for (const lease of this.registry.leases()) {
        if (this.closed) return;
        const i = lease.record.instance;
        this.digest.set(i.app, i.id, fingerprint(lease.record));
        if (++inSlice >= sliceSize) {
          inSlice = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    };
    this.rebuilding = rebuild().finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  /** Starts the rounds (the first after one interval). */
  start(): void {
    this.scheduleNext();
  }

  /** The comparison state with a peer (by URL, credentials stripped), for status, dashboard and metrics. */
  statsFor(url: string): PeerComparisonStats | undefined {
    return this.stats.get(url);
  }

  /** Stops the rounds and detaches from the registry. */
  close(): void {
    this.closed = true;
    this.cancelNext?.();
    this.unsubscribe();
  }

  /** One round with every peer, one after the other; resolves when all are done. */
  async runRound(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // A digest still catching up would make every peer look different.
      await this.catchUp();
      // The peers as the round starts; one that leaves meanwhile is skipped.
      for (const peer of this.peers) {
        if (this.closed) return;
        if (this.peers.includes(peer)) await this.compareWith(peer);
      }
    } finally {
      this.running = false;
    }
  }

  // ComparisonAnswers ----------------------------------------------------------------------------------------------

  answerDigest(body: string): string | undefined {
    const root = decodeDigestRequest(body);
    if (root === undefined) return undefined;
    return sameHash(root, this.digest.root) ? encodeDigestAnswer(this.digest.root) : encodeDigestAnswer(this.digest.root, this.digest.applications());
  }

  answerVersions(body: string): string | undefined {
    const apps = decodeVersionsRequest(body, this.limits.maxNameLength);
    if (apps === undefined) return undefined;
    const wanted = new Set(apps);
    const removed = new Map<string, [string, InstanceVersion][]>();
    for (const t of this.registry.cancelTombstones()) {
      if (!wanted.has(t.app) || this.registry.lease(t.app, t.id)) continue;
      const list = removed.get(t.app) ?? [];
      list.push([t.id, { kind: 'removed', lastDirtyTimestamp: t.lastDirtyTimestamp === Number.MAX_SAFE_INTEGER ? undefined : t.lastDirtyTimestamp, at: t.at }]);
      removed.set(t.app, list);
    }
    const self = this;
    return encodeVersionsAnswer(
      apps.map((app): [string, Iterable<[string, InstanceVersion]>] => [
        app,
        (function* () {
          for (const lease of self.registry.application(app)) {
            const { instance } = lease.record;
            const fp = self.digest.instance(app, instance.id) ?? fingerprint(lease.record);
            yield [instance.id, { kind: 'instance', lastDirtyTimestamp: instance.lastDirtyTimestamp, at: lease.record.lastUpdatedTimestamp, fingerprint: hashHex(fp) }];
          }
          yield* removed.get(app) ?? [];
        })(),
      ]),
    );
  }

  applyRepairs(body: string): RepairOutcome | undefined {
    const repairs = decodeRepairs(body, this.limits, this.options.maxRepairItems, this.clock.now());
    if (repairs === undefined) return undefined;
    const outcome: RepairOutcome = { applied: 0, stale: 0, refused: 0, invalid: 0 };
    for (const r of repairs) outcome[r === 'invalid' ? 'invalid' : this.registry.repair(r)]++;
    return outcome;
  }

  // Rounds ---------------------------------------------------------------------------------------------------------

  private scheduleNext(): void {
    if (this.closed) return;
    const { intervalMs, jitterFraction, random } = this.options;
    const delay = Math.max(1, Math.round(intervalMs * (1 + jitterFraction * (2 * random() - 1))));
    this.cancelNext = this.scheduler.after(delay, () => {
      void this.runRound()
        .catch((e: unknown) => this.logger.error('anti-entropy round failed', { error: e instanceof Error ? e.stack : String(e) }))
        .finally(() => this.scheduleNext());
    });
  }

  private async compareWith(peer: PeerClient): Promise<void> {
    const stats = this.stats.get(peer.url) ?? emptyComparisonStats();
    this.stats.set(peer.url, stats);
    const outcome = await this.round(peer).catch((e: unknown): RoundFailure => ({ failed: e instanceof Error ? e.message : String(e) }));
    if (!this.peers.includes(peer)) return;
    const now = this.clock.now();
    stats.lastComparisonAt = now;
    if ('unsupported' in outcome) {
      if (stats.state !== 'unsupported') this.logger.info('peer does not compare registries (not a zone-registry server?): skipped', { peer: peer.url });
      stats.state = 'unsupported';
      stats.inSyncSince = 0;
      return;
    }
    if ('failed' in outcome) {
      if (stats.state !== 'failing') this.logger.warn('registry comparison with peer failed', { peer: peer.url, reason: outcome.failed });
      stats.state = 'failing';
      stats.failures++;
      stats.lastError = outcome.failed;
      stats.inSyncSince = 0;
      return;
    }
    stats.comparisons++;
    stats.appsDiffering = outcome.appsDiffering;
    stats.instancesRepaired += outcome.repaired;
    if (outcome.repaired > 0) {
      stats.lastRepairAt = now;
      this.logger.info('repaired a peer', { peer: peer.url, applications: outcome.appsDiffering, instances: outcome.repaired });
    }
    const inSync = outcome.appsDiffering === 0;
    if (inSync && stats.inSyncSince === 0) stats.inSyncSince = now;
    if (!inSync) stats.inSyncSince = 0;
    stats.state = inSync ? 'in-sync' : 'repairing';
  }

  // One comparison: digest, versions of the applications that differ, repairs of what we hold newer.
  private async round(peer: PeerClient): Promise<{ appsDiffering: number; repaired: number } | RoundFailure> {
    const digest = await exchange(peer, COMPARISON_PATHS.digest, encodeDigestRequest(this.digest.root));
    if ('failed' in digest || 'unsupported' in digest) return digest;
    const theirs = decodeDigestAnswer(digest.body, 1_000_000);
    if (theirs === undefined) return { failed: 'peer answered an unreadable digest' };
    if (sameHash(theirs.root, this.digest.root) || theirs.apps === undefined) return { appsDiffering: 0, repaired: 0 };
    const differing: string[] = [];
    for (const [app, h] of this.digest.applications()) if (!sameHash(h, theirs.apps.get(app) ?? EMPTY_HASH)) differing.push(app);
    for (const app of theirs.apps.keys()) if (sameHash(this.digest.app(app), EMPTY_HASH)) differing.push(app);
    const settled = this.settled(differing);
    // Removals of the differing applications, gathered in one pass over the tombstones.
    const wanted = new Set(differing);
    const removals = new Map<string, Tombstone[]>();
    for (const t of this.registry.cancelTombstones()) {
      if (!wanted.has(t.app)) continue;
      const list = removals.get(t.app) ?? [];
      list.push(t);
      removals.set(t.app, list);
    }
    let repaired = 0;
    for (let i = 0; i < settled.length; i += MAX_VERSION_APPS) {
      const chunk = settled.slice(i, i + MAX_VERSION_APPS);
      const answer = await exchange(peer, COMPARISON_PATHS.versions, encodeVersionsRequest(chunk));
      if ('failed' in answer || 'unsupported' in answer) return answer;
      const versions = decodeVersionsAnswer(answer.body, chunk, MAX_VERSIONS_PER_APP);
      if (versions === undefined) return { failed: 'peer answered unreadable versions' };
      const items = chunk.flatMap((app) => this.newerThan(app, versions.get(app) ?? new Map(), removals.get(app) ?? []));
      const sent = await this.sendRepairs(peer, items);
      if (typeof sent !== 'number') return sent;
      repaired += sent;
    }
    return { appsDiffering: differing.length, repaired };
  }

  // Forgets the applications whose last change is older than the settling time.
  // `changedAt` is in the order of the last changes (each is moved last), so this stops at the first one still
  // settling: O(what it forgets). Past `keep` entries the oldest go too (they are then compared, not left out).
  private forgetSettled(keep = Number.POSITIVE_INFINITY): void {
    const now = this.clock.now();
    const settlingMs = Math.min(SETTLING_MS, this.options.intervalMs / 2);
    for (const [app, at] of this.changedAt) {
      if (now - at < settlingMs && this.changedAt.size <= keep) return;
      this.changedAt.delete(app);
    }
  }

  // The differing applications to compare now: all but those that changed here within SETTLING_MS and were not left
  // out of the last round already.
  private settled(differing: readonly string[]): string[] {
    this.forgetSettled();
    const leftOut = new Set<string>();
    const compared = differing.filter((app) => {
      const settling = this.changedAt.has(app) && !this.leftOut.has(app);
      if (settling) leftOut.add(app);
      return !settling;
    });
    this.leftOut = leftOut;
    return compared;
  }

  // What we hold of `app` that is newer than the peer's copy (or that it lacks): copies and removals.
  private newerThan(app: string, theirs: AppVersions, removals: readonly Tombstone[]): RepairItem[] {
    const items: RepairItem[] = [];
    const now = this.clock.now();
    for (const lease of this.registry.application(app)) {
      const { instance } = lease.record;
      // An expired lease is on its way out here: it is not pushed onto a peer.
      if (lease.isExpired(now)) continue;
      const their = theirs.get(instance.id);
      // The fingerprint the digest holds: no hashing here.
      const fp = this.digest.instance(app, instance.id) ?? fingerprint(lease.record);
      const ours: InstanceVersion = { kind: 'instance', lastDirtyTimestamp: instance.lastDirtyTimestamp, at: lease.record.lastUpdatedTimestamp, fingerprint: hashHex(fp) };
      if (their === undefined || compareVersions(ours, their) > 0) items.push({ kind: 'instance', view: lease.snapshot(), overlay: this.registry.metadataOverlayOf(app, instance.id) });
    }
    for (const t of removals) {
      if (this.registry.lease(app, t.id)) continue;
      const their = theirs.get(t.id);
      // A removal matters only where a copy is still held.
      if (their === undefined || their.kind === 'removed') continue;
      const ours: InstanceVersion = { kind: 'removed', lastDirtyTimestamp: t.lastDirtyTimestamp === Number.MAX_SAFE_INTEGER ? undefined : t.lastDirtyTimestamp, at: t.at };
      if (compareVersions(ours, their) > 0) items.push({ kind: 'removed', app, id: t.id, lastDirtyTimestamp: ours.lastDirtyTimestamp, at: t.at });
    }
    return items;
  }

  // Sends repairs in requests within the peer's item and byte bounds; the number applied, or why it stopped.
  private async sendRepairs(peer: PeerClient, items: readonly RepairItem[]): Promise<number | RoundFailure> {
    let applied = 0;
    let batch: string[] = [];
    let bytes = 12;
    const flush = async (): Promise<RoundFailure | undefined> => {
      if (batch.length === 0) return undefined;
      const answer = await exchange(peer, COMPARISON_PATHS.repair, repairListOf(batch));
      batch = [];
      bytes = 12;
      if ('failed' in answer || 'unsupported' in answer) return answer;
      try {
        applied += Number((JSON.parse(answer.body) as RepairOutcome).applied) || 0;
      } catch {
        return { failed: 'peer answered an unreadable repair outcome' };
      }
      return undefined;
    };
    for (const item of items) {
      const encoded = encodeRepairItem(item);
      const size = Buffer.byteLength(encoded) + 1;
      if (batch.length > 0 && (batch.length >= this.options.maxRepairItems || bytes + size > this.options.maxRepairBytes)) {
        const stopped = await flush();
        if (stopped) return stopped;
      }
      batch.push(encoded);
      bytes += size;
    }
    const stopped = await flush();
    return stopped ?? applied;
  }

  private onEvent(event: RegistryEvent): void {
    if (event.type !== 'renewed') {
      const app = event.view.record.instance.app;
      this.changedAt.delete(app);
      this.changedAt.set(app, this.clock.now());
      // Bounded without rounds too (no peer, or none answering): the last few seconds' applications, at most 4,096.
      if (this.changedAt.size > MAX_SETTLING_APPS) this.forgetSettled(MAX_SETTLING_APPS);
    }
    if (this.deferred) return;
    switch (event.type) {
      case 'registered':
      case 'status-updated':
      case 'status-override-deleted':
      case 'metadata-updated':
      case 'health-changed':
        this.digest.set(event.view.record.instance.app, event.view.record.instance.id, fingerprint(event.view.record));
        return;
      case 'cancelled':
      case 'evicted':
        this.digest.set(event.view.record.instance.app, event.view.record.instance.id, undefined);
        return;
      case 'renewed':
        return;
      default:
        unreachable(event);
    }
  }
}

/** The comparison stats of a peer nothing was compared with yet. */
export function emptyComparisonStats(): PeerComparisonStats {
  return { state: 'pending', comparisons: 0, failures: 0, lastComparisonAt: 0, appsDiffering: 0, instancesRepaired: 0, lastRepairAt: 0, inSyncSince: 0, lastError: '' };
}

// One request of the comparison: the body of a 2xx; a peer that does not know the path (404/405) is "unsupported".
async function exchange(peer: PeerClient, path: string, body: string): Promise<{ readonly body: string } | RoundFailure> {
  if (peer.compare === undefined) return { unsupported: true };
  const answer: PeerExchange = await peer.compare(path, body);
  if (answer.kind === 'error') return { failed: answer.reason };
  if (answer.status === 404 || answer.status === 405) return { unsupported: true };
  if (answer.status < 200 || answer.status >= 300) return { failed: `peer answered ${answer.status}` };
  return { body: answer.body };
}
