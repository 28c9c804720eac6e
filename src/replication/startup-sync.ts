// Startup sync: before it reports ready, a server copies the registry of its peers (without replicating it back).
// When no peer answers it either serves what it has or refuses registry reads (403) for a while, as configured,
// and keeps trying in the background; the first peer that answers opens it.
import { Clock } from '../domain/clock';
import { RegistrationLimits, validateRegistration } from '../domain/registration';
import { nextRetry, NO_JITTER, RetryPolicy } from '../domain/retry-policy';
import { Registry } from '../domain/registry';
import { decodeApplicationJson, decodeApplicationsJson } from '../codecs/json';
import { decodeDefaults, DecodedInstance } from '../codecs/instance-decoder';
import { Logger } from '../observability/logger';
import { nextTurn } from '../scheduling/tasks';
import { COMPARISON_PATHS, decodeDigestAnswer, encodeDigestRequest } from './anti-entropy-protocol';
import { PeerClient } from './peer-client';

/** Settings of startup sync. */
export interface SyncOptions {
  /** Attempts before giving up on the peers (each tries every peer). */
  readonly attempts: number;
  /** Pause after the first failed attempt, ms; doubles per attempt up to 8 ×. */
  readonly retryWaitMs: number;
  /** What to do when no peer answered: serve the (possibly empty) registry, or refuse reads for `emptyWaitMs`. */
  readonly failureMode: 'serve' | 'refuse';
  /** How long reads are refused after a failed sync, ms (Eureka: 5 min). */
  readonly emptyWaitMs: number;
  /**
   * Sync even with no peer known yet: the peers come from DNS that has not answered, which says nothing about this
   * server being alone. Each attempt then looks again; default false (no peers: nothing to sync, ready at once).
   */
  readonly expectPeers?: boolean;
}

/** Readiness and the registry read gate. */
export class SyncState {
  private syncedAt: number | undefined;
  private refuseUntil = 0;
  private over = false;

  constructor(private readonly clock: Clock) {}

  /** True once synced with a peer, when there was nothing to sync, or once the refusal window has passed. */
  isReady(): boolean {
    return this.syncedAt !== undefined || (this.refuseUntil > 0 && this.clock.now() >= this.refuseUntil);
  }

  /** False while a failed sync keeps registry reads refused (403). */
  allowsRegistryReads(now: number): boolean {
    return this.syncedAt !== undefined || now >= this.refuseUntil;
  }

  /** Time registry reads are refused until, ms (0 when they are not). */
  get readsRefusedUntil(): number {
    return this.syncedAt === undefined ? this.refuseUntil : 0;
  }

  /** How long reads stay refused from now, ms. */
  remainingRefusalMs(): number {
    return Math.max(0, this.readsRefusedUntil - this.clock.now());
  }

  /**
   * True until the first sync either reached a peer or gave up (failure mode applied). Meanwhile a heartbeat for an
   * instance not held yet may be one the sync is about to bring, so it is not answered 404.
   */
  get inProgress(): boolean {
    return !this.over;
  }

  /** Synced with a peer (or nothing to sync, or serving after a failed sync): ends the startup sync. */
  markSynced(): void {
    this.syncedAt = this.clock.now();
    this.over = true;
  }

  /** Gave up on the peers for now: refuses registry reads for `ms` and ends the startup sync. */
  refuseReadsFor(ms: number): void {
    this.refuseUntil = this.clock.now() + ms;
    this.over = true;
  }
}

/** Result of one sync attempt across all peers. */
export interface SyncAttempt {
  readonly answered: number;
  readonly installed: number;
}

/** Applications fetched at once from a peer during a startup sync application by application. */
const APPS_IN_FLIGHT = 8;

/**
 * Most text of applications received and not installed yet (UTF-16 code units, about bytes) before no further one is
 * asked for; one answer is always let in, whatever its size. Fetching goes on while this server installs, so that
 * when the peer pauses (a full collection of its heap: 0.3-0.5 s at 250,000 instances) the answers it sent before are
 * still to be installed here: about 0.8 s of installing at 250 instances an application.
 */
export const MAX_WAITING_SYNC_CHARS = 32 * 1024 * 1024;

/**
 * Fetches every peer's registry once and installs what they hold as replicated registrations. A zone-registry peer is
 * read application by application (its digest names them), eight requests in flight and up to `maxWaitingChars` of
 * answers waiting to be installed, one a turn: a registry of any size is never held as one document and the event
 * loop is held for one application at a time. A Java peer is read in one GET /apps.
 */
export async function syncOnce(
  peers: readonly PeerClient[],
  registry: Registry,
  clock: Clock,
  limits: RegistrationLimits,
  logger: Logger,
  maxWaitingChars = MAX_WAITING_SYNC_CHARS,
): Promise<SyncAttempt> {
  // Peers in parallel, as before: a peer that does not answer costs its timeout once, not once per peer.
  const before = registry.size;
  const results = await Promise.all(
    peers.map(async (peer) => (await syncByApplication(peer, registry, clock, limits, logger, maxWaitingChars)) ?? (await syncWhole(peer, registry, clock, limits, logger))),
  );
  const answered = results.filter((r) => r !== undefined);
  // Instances this server holds now and did not before: each peer hands over the same ones.
  return { answered: answered.length, installed: Math.max(0, registry.size - before) };
}

// Installs the instances of one decoded document; the number installed.
function install(instances: readonly DecodedInstance[], registry: Registry, limits: RegistrationLimits): number {
  let installed = 0;
  for (const decoded of instances) {
    const valid = validateRegistration(decoded, decoded.app ?? '', limits);
    // The peer's lastUpdatedTimestamp: a copy older than a cancel this server took meanwhile stays out.
    if ('ok' in valid && registry.register(valid.ok, true, decoded.lastUpdatedTimestamp).kind === 'registered') installed++;
  }
  return installed;
}

// The whole registry in one document (any Eureka server); undefined when the peer did not answer.
async function syncWhole(peer: PeerClient, registry: Registry, clock: Clock, limits: RegistrationLimits, logger: Logger): Promise<number | undefined> {
  const result = await peer.fetchRegistry();
  if (result.kind !== 'ok') {
    logger.debug('sync: peer did not answer', { peer: peer.url, reason: result.reason });
    return undefined;
  }
  try {
    return install(decodeApplicationsJson(result.body, decodeDefaults(limits, clock.now())).instances, registry, limits);
  } catch (e) {
    logger.warn('sync: unreadable registry from peer', { peer: peer.url, reason: e instanceof Error ? e.message : String(e) });
    return undefined;
  }
}

// Application by application, from a peer that names its applications in its digest; undefined when it cannot
// (a Java peer: 404) or did not answer the digest, so that the whole registry is fetched instead.
async function syncByApplication(peer: PeerClient, registry: Registry, clock: Clock, limits: RegistrationLimits, logger: Logger, maxWaitingChars: number): Promise<number | undefined> {
  if (peer.compare === undefined || peer.fetchApplication === undefined) return undefined;
  const fetchApplication = peer.fetchApplication.bind(peer);
  // A root no registry has: the peer answers with every application's digest. Halves as signed integers, as every
  // Hash64 holds them: one unsigned 0xffffffff would make V8 box that field in every hash of the process (a heap
  // number per instance in the digest).
  const digest = await peer.compare(COMPARISON_PATHS.digest, encodeDigestRequest({ hi: -1, lo: -1 }));
  if (digest.kind !== 'answer' || digest.status !== 200) return undefined;
  const names = decodeDigestAnswer(digest.body, Number.MAX_SAFE_INTEGER)?.apps;
  if (names === undefined) return undefined;
  const all = [...names.keys()];
  let next = 0;
  let installed = 0;
  // Answers received and not installed yet, in the order they came, and the length of their text.
  const waiting: { readonly name: string; readonly body: string }[] = [];
  let waitingChars = 0;
  let fetching = Math.min(APPS_IN_FLIGHT, all.length);
  let answered: (() => void) | undefined;
  const roomWaiters: (() => void)[] = [];
  // A pool of fetchers, not rounds: the peer serves the next applications while this server installs one.
  const fetcher = async (): Promise<void> => {
    while (next < all.length) {
      while (waitingChars >= maxWaitingChars && waiting.length > 0) await new Promise<void>((r) => roomWaiters.push(r));
      if (next >= all.length) break;
      const name = all[next++];
      const result = await fetchApplication(name);
      // An application that emptied meanwhile answers 404: nothing to install.
      if (result.kind === 'ok') {
        waiting.push({ name, body: result.body });
        waitingChars += result.body.length;
      }
      answered?.();
    }
    fetching--;
    answered?.();
  };
  // One application a turn, in the order they came: the event loop is held for one at a time.
  const installer = async (): Promise<void> => {
    for (;;) {
      const item = waiting.shift();
      if (item === undefined) {
        if (fetching === 0) return;
        await new Promise<void>((r) => (answered = r));
        answered = undefined;
        continue;
      }
      waitingChars -= item.body.length;
      for (const wake of roomWaiters.splice(0)) wake();
      try {
        installed += install(decodeApplicationJson(item.body, decodeDefaults(limits, clock.now())).instances, registry, limits);
      } catch (e) {
        logger.warn('sync: unreadable application from peer', { peer: peer.url, app: item.name, reason: e instanceof Error ? e.message : String(e) });
      }
      await nextTurn();
    }
  };
  await Promise.all([installer(), ...Array.from({ length: fetching }, fetcher)]);
  logger.debug('sync: read peer application by application', { peer: peer.url, applications: all.length, installed });
  return installed;
}

/**
 * Runs startup sync to completion: retries with backoff; on failure applies the failure mode and keeps retrying
 * in the background until a peer answers or the refusal window ends. Resolves once the server is ready.
 */
export async function syncFromPeers(
  peers: readonly PeerClient[],
  sync: () => Promise<SyncAttempt>,
  state: SyncState,
  options: SyncOptions,
  sleep: (ms: number) => Promise<void>,
  logger: Logger,
): Promise<void> {
  if (peers.length === 0 && options.expectPeers !== true) {
    state.markSynced();
    return;
  }
  const retry: RetryPolicy = { baseMs: options.retryWaitMs, maxMs: options.retryWaitMs * 8, multiplier: 2, jitter: NO_JITTER, maxAttempts: options.attempts };
  for (let attempt = 1; attempt <= Math.max(1, options.attempts); attempt++) {
    const result = await sync();
    if (result.answered > 0) {
      state.markSynced();
      logger.info('synced registry from peers', { peers: result.answered, instances: result.installed, attempt });
      return;
    }
    const next = nextRetry(retry, attempt);
    if (next.kind === 'wait') await sleep(next.delayMs);
  }
  if (options.failureMode === 'serve') {
    state.markSynced();
    logger.warn('no peer answered the startup sync: serving the registry as it is', { peers: peers.length });
    return;
  }
  state.refuseReadsFor(options.emptyWaitMs);
  logger.warn('no peer answered the startup sync: registry reads answer 403 until a peer answers or the wait ends', { waitMs: options.emptyWaitMs });
  while (!state.isReady()) {
    await sleep(Math.min(retry.maxMs, Math.max(1, state.remainingRefusalMs())));
    if (state.isReady()) break;
    const result = await sync();
    if (result.answered > 0) {
      state.markSynced();
      logger.info('synced registry from peers after all', { peers: result.answered, instances: result.installed });
    }
  }
}
